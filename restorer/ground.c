/* ground.c - what every part of the restorer calls back into: failing
 * and warning (a number on the status fd) and reading the plan fd.
 * Nothing here calls another restorer file: the layers above it
 * (main.c, then move, clear, mem, proc, creds, threads) point down.
 *
 * May not: malloc, stdio, errno, TLS; the restorer never prints, it
 * reports numbers that ckpt-thaw puts in words. */
#include "rawsys.h"
#include "ground.h"

static void status_put(struct rst *r, int step, long err, uint64_t addr)
{
	struct plan_status st = { .step = step, .err = (int32_t)err, .addr = addr };

	sys_write(r->fd_status, &st, sizeof st);
}

_Noreturn void rst_fail(struct rst *r, int step, long err, uint64_t addr)
{
	status_put(r, step, err, addr);
	sys_exit_group(127);
}

void rst_warn(struct rst *r, int step, long err, uint64_t addr)
{
	status_put(r, step, err, addr);
}

void rst_read(struct rst *r, void *buf, uint64_t n, int step, uint64_t addr)
{
	char *p = buf;
	long k;

	while (n) {
		k = sys_read(r->fd_plan, p, n > (1UL << 30) ? 1UL << 30 : n);
		if (k == -4) /* EINTR */
			continue;
		if (k < 0)
			rst_fail(r, step, k, addr + (p - (char *)buf));
		if (k == 0)
			rst_fail(r, PLAN_ST_SHORT, 0, addr + (p - (char *)buf));
		p += k;
		n -= k;
	}
}
