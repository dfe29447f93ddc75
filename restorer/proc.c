/* proc.c - the kernel's side of the process: the vDSO at its old
 * address, the mm fields, dispositions, limits, timers, fd flags.
 *
 * May not: use the single-field PR_SET_MM ops (they need
 * CAP_SYS_RESOURCE, absent even for root here: kernel/NOTES.md 4b), or
 * call into the vDSO (musl cached ours at its old address). */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "restorer.h"
#include "rawsys.h"

/* Our [vvar] [vvar_vclock] [vdso] sit in the slot; the image's must be
 * the same sizes (thaw compared the vDSO's hash with its own). */
void vdso_restore(struct rst *r)
{
	const uint64_t *want[3] = { r->hdr.vvar, r->hdr.vclock, r->hdr.vdso };
	uint64_t len;
	long e;
	int i;

	for (i = 0; i < 3; i++)
		if (want[i][1] - want[i][0] != r->own[i][1] - r->own[i][0])
			rst_fail(r, PLAN_ST_VDSO_LAYOUT, 0, want[i][0]);
	for (i = 0; i < 3; i++) {
		len = want[i][1] - want[i][0];
		if (!len)
			continue;
		e = sys_mremap(r->own[i][0], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, want[i][0]);
		if (e < 0)
			rst_fail(r, PLAN_ST_VDSO, e, want[i][0]);
	}
}

static void sigactions_restore(struct rst *r)
{
	const struct ckpt_ksigaction *a;
	long e;
	int sig;

	for (sig = 1; sig <= 64; sig++) {
		a = &r->hdr.sigaction[sig - 1];
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;  /* the default too: exec kept thaw's SIG_IGNs */
		if ((e = sys_rt_sigaction(sig, a, 0)) < 0)
			rst_fail(r, PLAN_ST_SIGACTION, e, sig);
	}
}

/* A hard limit above ours needs CAP_SYS_RESOURCE: warn and go on. */
static void rlimits_restore(struct rst *r)
{
	long e;
	int i;

	for (i = 0; i < 16; i++)
		if ((e = sys_prlimit(0, i, &r->hdr.rlimit[i], 0)) < 0)
			rst_warn(r, PLAN_ST_RLIMIT, e, i);
}

/* exe_fd works as root or in our own user namespace, once no mapping
 * of the old exe is left (kernel/NOTES.md 4c); else /proc/PID/exe keeps
 * naming the restorer, and thaw warns. */
static void mm_restore(struct rst *r)
{
	const struct plan_mm *m = &r->hdr.mm;
	struct prctl_mm_map map = {
		.start_code = m->start_code, .end_code = m->end_code,
		.start_data = m->start_data, .end_data = m->end_data,
		.start_brk = m->start_brk, .brk = m->brk, .start_stack = m->start_stack,
		.arg_start = m->arg_start, .arg_end = m->arg_end,
		.env_start = m->env_start, .env_end = m->env_end,
		.auxv = r->hdr.auxv, .auxv_size = r->hdr.auxv_words * 8,
		.exe_fd = (uint32_t)-1,
	};
	long fd = -1, e;

	if ((r->hdr.flags & PLAN_F_EXE_FD) && r->hdr.exe[0]) {
		fd = sys_open(r->hdr.exe, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			rst_warn(r, PLAN_ST_EXE_WARN, fd, 0);
		else
			map.exe_fd = fd;
	}
	e = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0);
	if (e < 0 && fd >= 0) {
		rst_warn(r, PLAN_ST_EXE_WARN, e, 0);
		map.exe_fd = (uint32_t)-1;
		e = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0);
	}
	if (fd >= 0)
		sys_close(fd);
	if (e < 0)
		rst_fail(r, PLAN_ST_MM, e, 0);
}

static void fdflags_restore(struct rst *r)
{
	uint32_t i;
	long e;

	for (i = 0; i < r->hdr.ncloexec; i++)
		if ((e = sys_fcntl(r->cloexec[i], F_SETFD, FD_CLOEXEC)) < 0)
			rst_fail(r, PLAN_ST_FDFLAGS, e, r->cloexec[i]);
}

static void itimers_restore(struct rst *r)
{
	const struct ckpt_itimer *t;
	long e;
	int i;

	for (i = 0; i < 3; i++) {
		t = &r->hdr.itimer[i];
		if (!t->value.sec && !t->value.usec)
			continue;
		if ((e = sys_setitimer(i, t, 0)) < 0)
			rst_fail(r, PLAN_ST_ITIMER, e, i);
	}
}

void proc_restore(struct rst *r)
{
	sys_umask(r->hdr.umask);
	sigactions_restore(r);
	rlimits_restore(r);
	mm_restore(r);
	fdflags_restore(r);
	if (r->hdr.dumpable <= 1)
		sys_prctl(PR_SET_DUMPABLE, r->hdr.dumpable, 0, 0, 0);
	itimers_restore(r);
}
