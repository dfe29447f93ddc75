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

/* a queued signal's number and si_code, from the kernel's siginfo */
static int siginfo_signo(const struct plan_siginfo *s, int32_t *code)
{
	int32_t signo;

	__builtin_memcpy(&signo, s->info, 4);
	__builtin_memcpy(code, s->info + 8, 4);
	return signo;
}

/* the signals of tid's queue (0: the process's) that signals_queue
 * queues */
static uint64_t signals_queued(const struct rst *r, uint32_t tid)
{
	uint64_t set = 0;
	int32_t code;
	uint32_t i;
	int sig;

	for (i = 0; i < r->hdr.nsiginfo; i++)
		if (r->siginfo[i].tid == tid && (sig = siginfo_signo(&r->siginfo[i], &code)) >= 1 &&
		    sig <= 64)
			set |= 1ULL << (sig - 1);
	return set;
}

/* tid's queue (0: the process's) queued again, each signal with its
 * siginfo, in the checkpoint's order: by the thread tid itself, or the
 * main thread for the process, as the kernel allows any siginfo only
 * then (kill's SI_USER, another sender's pid).  A POSIX timer's
 * (SI_TIMER) comes back with its timer's id, overrun and value, as an
 * ordinary queued signal: its kernel-private word (the timer's
 * sequence, which a new timer does not have) zeroed, as timers.c does.
 * Every thread blocks every signal until its frame gives its mask
 * back, so they wait. */
static void signals_queue(struct rst *r, uint32_t tid)
{
	const struct plan_siginfo *s;
	unsigned char info[sizeof s->info];
	int32_t code;
	uint32_t i;
	long e;
	int sig;

	for (i = 0; i < r->hdr.nsiginfo; i++) {
		s = &r->siginfo[i];
		if (s->tid != tid || (sig = siginfo_signo(s, &code)) < 1 || sig > 64)
			continue;
		__builtin_memcpy(info, s->info, sizeof info);
		if (code == -2 /* SI_TIMER */)
			__builtin_memset(info + 32, 0, 4);   /* _sigsys_private */
		e = tid ? sys_tgsigqueueinfo(r->hdr.pid, tid, sig, info) :
			  sys_rt_sigqueueinfo(r->hdr.pid, sig, info);
		if (e < 0)
			rst_fail(r, PLAN_ST_SIGQUEUE, e, sig);
	}
}

/* Signals pending at the checkpoint that no siginfo brought back
 * (an older image, a POSIX timer's), raised again: once each, with
 * the restorer's siginfo, but for a timer's (timers.c). */
static void signals_raise(struct rst *r, int tid, uint64_t set)
{
	int sig;

	set &= ~signals_queued(r, tid);
	for (sig = 1; sig <= 64; sig++)
		if (set >> (sig - 1) & 1 && !timer_signal_raise(r, tid, sig))
			tid ? sys_tgkill(r->hdr.pid, tid, sig) : sys_kill(r->hdr.pid, sig);
}

/* The thread's rseq area, glibc's or the program's own, registered
 * again before it runs anything of the program (a fresh task has
 * none); its critical-section pointer cleared first, as a stale one
 * would abort the first preemption.  The shim's own redo then finds it
 * registered (EBUSY). */
static void rseq_register(struct rst *r, const struct plan_thread *t)
{
	long e;

	if (!t->rseq_addr)
		return;
	*(volatile uint64_t *)(t->rseq_addr + 8) = 0;
	if ((e = sys_rseq(t->rseq_addr, t->rseq_len, 0, t->rseq_sig)) < 0 && e != -16 /* EBUSY */)
		rst_fail(r, PLAN_ST_RSEQ, e, t->rseq_addr);
}

void rst_thread_setup(struct rst *r, const struct plan_thread *t)
{
	rst_creds(r, t);
	signals_queue(r, t->tid);
	rseq_register(r, t);
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
	rst_thread_setup(r, m);
	signals_queue(r, 0);
	timers_restore(r);
	grows_unguard(r);
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
