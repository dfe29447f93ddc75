/* threads.c - start every thread at its park, the main thread last,
 * and leave nothing of the restorer but the trampoline page.
 *
 * May not: touch the stack or TLS in a started thread before it loads
 * its park (entry.S), or unmap the hole while a thread may still run
 * in it: the trampoline waits until every child has counted itself out.
 * After the main thread's fs base is set, no C code runs. */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "restorer.h"
#include "rawsys.h"

struct clone_args_k {      /* struct clone_args, CLONE_ARGS_SIZE_VER2 */
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
		      CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS)

typedef void (*tramp_main_fn)(uint64_t tramp, uint64_t rest,
					 uint64_t rest_len, uint32_t children);

static const struct plan_thread *main_thread(struct rst *r)
{
	uint32_t i;

	for (i = 0; i < r->hdr.nthreads; i++)
		if (r->threads[i].tid == r->hdr.pid)
			return &r->threads[i];
	rst_fail(r, PLAN_ST_THREAD, -3 /* ESRCH */, r->hdr.pid);
}

static void tramp_setup(struct rst *r, const struct plan_thread *m)
{
	char *t = (char *)r->tramp;
	long e;

	memset(t, 0, PLAN_TRAMP_SIZE);
	memcpy(t + TRAMP_PARK, &m->park, sizeof m->park);
	memcpy(t + TRAMP_CODE, rst_tramp_begin, rst_tramp_end - rst_tramp_begin);
	e = sys_mprotect(r->tramp, PLAN_TRAMP_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (e < 0)
		rst_fail(r, PLAN_ST_THREAD, e, r->tramp);
}

/* Signals pending at the checkpoint, raised again: every thread blocks
 * them all until its signal frame gives its mask back, so they wait.
 * A real-time signal queued several times comes back once, and its
 * siginfo is the restorer's, but for a POSIX timer's (timers.c). */
static void signals_raise(struct rst *r, int tid, uint64_t set)
{
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (set >> (sig - 1) & 1 && !timer_signal_raise(r, tid, sig))
			tid ? sys_tgkill(r->hdr.pid, tid, sig) : sys_kill(r->hdr.pid, sig);
}

/* The thread sets its credentials on the one thread stack: the next
 * thread may have it once this one has counted itself off it. */
static void thread_clone(struct rst *r, const struct plan_thread *t, uint32_t nth)
{
	volatile uint32_t *done = (volatile uint32_t *)(r->tramp + TRAMP_CREDS);
	int32_t tid = t->tid;
	struct clone_args_k ca = {
		.flags = THREAD_FLAGS, .tls = t->fs,
		.stack = r->tstack, .stack_size = PLAN_TSTACK_SIZE,
		.set_tid = (uint64_t)&tid, .set_tid_size = 1,
	};
	long e;

	e = rst_clone_thread(&ca, sizeof ca, t, r->tramp, r);
	if (e < 0)
		rst_fail(r, PLAN_ST_THREAD, e, t->tid);
	while (__atomic_load_n(done, __ATOMIC_ACQUIRE) < nth)
		sys_sched_yield();
	signals_raise(r, t->tid, t->sigpending);
}

/* the started threads wait at the go (entry.S): let them run */
static void threads_go(struct rst *r)
{
	volatile uint32_t *go = (volatile uint32_t *)(r->tramp + TRAMP_GO);

	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	sys_futex(go, 129 /* FUTEX_WAKE_PRIVATE */, 0x7fffffff, 0);
}

_Noreturn void threads_start(struct rst *r)
{
	const struct plan_thread *m = main_thread(r);
	uint64_t rest = r->tramp + PLAN_TRAMP_SIZE;
	uint64_t end = r->body + PAGE_UP(r->hdr.body_size);
	uint32_t i, children = 0;
	tramp_main_fn jump;
	long e;

	tramp_setup(r, m);
	for (i = 0; i < r->hdr.nthreads; i++) {
		if (&r->threads[i] == m)
			continue;
		thread_clone(r, &r->threads[i], ++children);
	}
	rst_creds(r, m);
	timers_restore(r);
	threads_go(r);
	signals_raise(r, m->tid, m->sigpending);
	signals_raise(r, 0, r->hdr.sigpending);
	if ((e = sys_arch_prctl(ARCH_SET_FS, m->fs)) < 0)
		rst_fail(r, PLAN_ST_TLS, e, m->fs);
	if (m->gs && (e = sys_arch_prctl(ARCH_SET_GS, m->gs)) < 0)
		rst_fail(r, PLAN_ST_TLS, e, m->gs);
	sys_close(r->fd_plan);
	rst_warn(r, PLAN_ST_OK, 0, 0);
	sys_close(r->fd_status);
	jump = (tramp_main_fn)(r->tramp + TRAMP_CODE + (rst_tramp_main - rst_tramp_begin));
	jump(r->tramp, rest, end - rest, children);
	__builtin_unreachable();
}
