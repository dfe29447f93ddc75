/* main.c - ckpt-restorer: becomes the process described by the plan that
 * ckpt-thaw writes on the fd named by argv[1] (doc/restore.md).
 *
 * usage (by ckpt-thaw only): ckpt-restorer PLANFD STATUSFD
 *
 * May not: malloc, brk, stdio, errno, TLS, or call libc beyond the
 * memcpy/memset the compiler emits; after self_copy() the old image is
 * gone, so nothing may keep a pointer into it (argv, auxv, musl's
 * state).  Errors go to STATUSFD as numbers (rst_fail). */
#include <signal.h>
#include <sys/mman.h>

#include "num.h"
#include "restorer.h"
#include "rawsys.h"

static struct rst rst;

/* an fd argument: decimal, at most 1000000 (lib/num.c) */
static int fd_arg(const char *s)
{
	uint64_t v;

	return s && num_parse(s, 1000000, &v) == 0 ? (int)v : -1;
}

/* the plan header, checked; then the hole laid out and mapped */
static void hole_setup(struct rst *r)
{
	struct plan_hdr *h = &r->hdr;
	uint64_t need;
	long a;

	rst_read(r, h, sizeof *h, PLAN_ST_PLAN, 0);
	if (h->magic != PLAN_MAGIC || h->version != PLAN_VERSION ||
	    h->hdr_size != sizeof *h || h->auxv_words > PLAN_AUXV_MAX)
		rst_fail(r, PLAN_ST_ARGS, 0, 0);
	if ((uint64_t)sys_getpid() != h->pid)
		rst_fail(r, PLAN_ST_PID, 0, (uint64_t)sys_getpid());
	r->tramp = h->hole;
	r->slot = r->tramp + PLAN_TRAMP_SIZE;
	r->tstack = r->slot + PLAN_VDSO_SLOT;
	r->stack = r->tstack + PLAN_TSTACK_SIZE;
	r->image = r->stack + PLAN_STACK_SIZE;
	r->body = r->image + PAGE_UP(r->image_len);
	need = r->body + PAGE_UP(h->body_size) - h->hole;
	if (r->image_len > PLAN_IMAGE_MAX || need > h->hole_size)
		rst_fail(r, PLAN_ST_HOLE, -12 /* ENOMEM */, h->hole);
	a = sys_mmap(h->hole, need, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a < 0 && a > -4096)
		rst_fail(r, PLAN_ST_HOLE, a, h->hole);
	if ((uint64_t)a != h->hole)
		rst_fail(r, PLAN_ST_HOLE, -17 /* EEXIST */, h->hole);
}

static void body_read(struct rst *r)
{
	struct plan_hdr *h = &r->hdr;
	uint64_t off = 0;

	rst_read(r, (void *)r->body, h->body_size, PLAN_ST_PLAN, sizeof *h);
	r->regions = (struct plan_region *)r->body;
	off += (uint64_t)h->nregions * sizeof *r->regions;
	r->runs = (struct plan_run *)(r->body + off);
	off += (uint64_t)h->nruns * sizeof *r->runs;
	r->threads = (struct plan_thread *)(r->body + off);
	off += (uint64_t)h->nthreads * sizeof *r->threads;
	r->groups = (const uint32_t *)(r->body + off);
	off += ((uint64_t)h->ngroups * sizeof *r->groups + 7) & ~7ULL;
	r->cloexec = (const uint32_t *)(r->body + off);
	off += ((uint64_t)h->ncloexec * sizeof *r->cloexec + 7) & ~7ULL;
	r->timers = (const struct plan_timer *)(r->body + off);
	off += (uint64_t)h->ntimers * sizeof *r->timers;
	r->guards = (const struct plan_run *)(r->body + off);
	off += (uint64_t)h->nguards * sizeof *r->guards;
	r->siginfo = (const struct plan_siginfo *)(r->body + off);
	off += (uint64_t)h->nsiginfo * sizeof *r->siginfo;
	if (off > h->body_size || h->nthreads == 0)
		rst_fail(r, PLAN_ST_ARGS, 0, 0);
	r->strings = (const char *)(r->body + off);
	r->strings_len = h->body_size - off;
}

static void go_wait(struct rst *r)
{
	uint64_t go = 0;

	rst_read(r, &go, sizeof go, PLAN_ST_GO, 0);
	if (go != PLAN_GO)
		rst_fail(r, PLAN_ST_GO, 0, go);
}

/* Runs in the copy, on the hole's stack: the old image is still there
 * until old_clear() takes it away. */
static void restore(struct rst *r)
{
	old_clear(r);
	regions_map(r);
	pages_read(r);
	go_wait(r);
	regions_protect(r);
	vdso_restore(r);
	proc_restore(r);
	regions_advise(r);
	threads_start(r);
}

int main(int argc, char **argv)
{
	struct rst *r = &rst;
	uint64_t all = ~0ULL;
	uint64_t delta;

	r->fd_status = argc == 3 ? fd_arg(argv[2]) : -1;
	r->fd_plan = argc == 3 ? fd_arg(argv[1]) : -1;
	if (r->fd_plan < 0 || r->fd_status < 0) {
		static const char msg[] = "ckpt-restorer: run by ckpt-thaw only\n";
		sys_write(2, msg, sizeof msg - 1);
		return 2;
	}
	/* every thread starts with all signals blocked: its own mask comes
	 * back with its signal frame */
	sys_rt_sigprocmask(SIG_SETMASK, &all, 0);
	image_measure(r);
	hole_setup(r);
	body_read(r);
	delta = self_copy(r);
	/* from here on we run in the copy: r, restore and the stack all
	 * live in the hole */
	rst_switch(r->stack + PLAN_STACK_SIZE,
		   (void (*)(struct rst *))((uint64_t)restore + delta),
		   (struct rst *)((uint64_t)r + delta));
}
