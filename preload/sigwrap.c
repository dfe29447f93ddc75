/* sigwrap.c - the only calls of the program the shim wraps: those that
 * could block, replace or take the freeze signal.  The program sees its
 * own disposition and mask of that signal, kept here; the kernel keeps
 * ours.  A signal of that number that is not a freeze, arriving while
 * the program blocks it, is held here until the program unblocks it or
 * waits for it.
 *
 * sigaction and signal may run in signal handlers, sigwrap_hold runs in
 * the freeze handler: no malloc, no stdio, no locks there. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>

#include "shim.h"
#include "rawsys.h"

struct sigaction ckpt_prog_action;   /* SIG_DFL until the program sets one */

static int (*next_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*next_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*next_pthread_sigmask)(int, const sigset_t *, sigset_t *);
static sighandler_t (*next_signal)(int, sighandler_t);
static int (*next_sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
static int (*next_signalfd)(int, const sigset_t *, int);

void sigwrap_init(void)
{
	next_sigaction = dlsym(RTLD_NEXT, "sigaction");
	next_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
	next_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
	next_signal = dlsym(RTLD_NEXT, "signal");
	next_sigtimedwait = dlsym(RTLD_NEXT, "sigtimedwait");
	next_signalfd = dlsym(RTLD_NEXT, "signalfd");
}

int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return next_sigaction(sig, act, old);
}

int real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return next_pthread_sigmask(how, set, old);
}

static int is_freeze_sig(int sig)
{
	return ckpt_sig && sig == ckpt_sig;
}

__attribute__((visibility("default")))
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction a;

	if (!next_sigaction)
		sigwrap_init();
	if (is_freeze_sig(sig)) {
		if (old)
			*old = ckpt_prog_action;
		if (act)
			ckpt_prog_action = *act;
		return 0;
	}
	if (act && ckpt_sig && sigismember(&act->sa_mask, ckpt_sig)) {
		a = *act;
		sigdelset(&a.sa_mask, ckpt_sig);
		act = &a;
	}
	return next_sigaction(sig, act, old);
}

__attribute__((visibility("default")))
sighandler_t signal(int sig, sighandler_t h)
{
	sighandler_t old;

	if (!next_signal)
		sigwrap_init();
	if (is_freeze_sig(sig)) {
		old = ckpt_prog_action.sa_handler;
		memset(&ckpt_prog_action, 0, sizeof ckpt_prog_action);
		ckpt_prog_action.sa_handler = h;
		ckpt_prog_action.sa_flags = SA_RESTART;
		return old;
	}
	return next_signal(sig, h);
}

/* Whether this thread's program code believes it blocks the freeze
 * signal: the kernel never blocks it, but the program reads back the
 * mask it set.  Initial-exec TLS: no allocation on first use. */
static __thread int wants_blocked __attribute__((tls_model("initial-exec")));

/* the mask the program asks for, less the freeze signal */
static const sigset_t *without_freeze(int how, const sigset_t *set, sigset_t *copy)
{
	int has;

	if (!set || !ckpt_sig)
		return set;
	has = sigismember(set, ckpt_sig) == 1;
	if (how == SIG_SETMASK)
		wants_blocked = has;
	else if (has)
		wants_blocked = how == SIG_BLOCK;
	if (!has)
		return set;
	*copy = *set;
	sigdelset(copy, ckpt_sig);
	return copy;
}

static void as_program_sees(sigset_t *old, int was_blocked)
{
	if (old && ckpt_sig && was_blocked)
		sigaddset(old, ckpt_sig);
}

static void held_release(void);

/* set a mask through libc, as the program asked but for the freeze
 * signal, and answer as if it had been obeyed */
static int mask_call(int (*next)(int, const sigset_t *, sigset_t *),
		     int how, const sigset_t *set, sigset_t *old)
{
	int was = wants_blocked, r;
	sigset_t copy;

	r = next(how, without_freeze(how, set, &copy), old);
	if (r == 0)
		as_program_sees(old, was);
	else
		wants_blocked = was;
	if (was && !wants_blocked)
		held_release();
	return r;
}

__attribute__((visibility("default")))
int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!next_sigprocmask)
		sigwrap_init();
	return mask_call(next_sigprocmask, how, set, old);
}

__attribute__((visibility("default")))
int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!next_pthread_sigmask)
		sigwrap_init();
	return mask_call(next_pthread_sigmask, how, set, old);
}

/* Signals of the freeze number that were not freezes, held while the
 * program blocked it: the kernel cannot hold them, since it never
 * blocks that signal.  A slot is 0 free, 1 being filled or taken, 2
 * full.  When all are full, more are dropped, as the kernel drops a
 * real-time signal past its queue's limit. */
#define HELD_MAX 32
static struct { int state; siginfo_t si; } held[HELD_MAX];

/* threads waiting in sigwrap's sigtimedwait for the freeze signal: a
 * signal held by another thread wakes them */
#define WAITERS_MAX 16
static int waiters[WAITERS_MAX];

static void send_self(int tid, siginfo_t *si)
{
	sys_tgsigqueueinfo(sys_getpid(), tid, ckpt_sig, si);
}

int sigwrap_is_wake(const siginfo_t *si)
{
	return si->si_code == SI_QUEUE && si->si_value.sival_int == (int)CKPT_WAKE_MAGIC &&
	       si->si_pid == sys_getpid();
}

static void waiters_wake(void)
{
	siginfo_t si;
	int i, tid;

	memset(&si, 0, sizeof si);
	si.si_code = SI_QUEUE;
	si.si_pid = sys_getpid();
	si.si_uid = sys_geteuid();
	si.si_value.sival_int = (int)CKPT_WAKE_MAGIC;
	for (i = 0; i < WAITERS_MAX; i++)
		if ((tid = __atomic_load_n(&waiters[i], __ATOMIC_SEQ_CST)))
			send_self(tid, &si);
}

/* In the freeze handler, for a signal that is not a freeze: 1 when it
 * is held because this thread's program blocks it */
int sigwrap_hold(const siginfo_t *si)
{
	int i, free_;

	if (!wants_blocked)
		return 0;
	for (i = 0; i < HELD_MAX; i++) {
		free_ = 0;
		if (__atomic_compare_exchange_n(&held[i].state, &free_, 1, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			held[i].si = *si;
			__atomic_store_n(&held[i].state, 2, __ATOMIC_SEQ_CST);
			break;
		}
	}
	waiters_wake();
	return 1;
}

/* the first held signal into *info; 1, or 0 when none is held */
static int held_take(siginfo_t *info)
{
	int i, full;

	for (i = 0; i < HELD_MAX; i++) {
		full = 2;
		if (__atomic_compare_exchange_n(&held[i].state, &full, 1, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			*info = held[i].si;
			__atomic_store_n(&held[i].state, 0, __ATOMIC_SEQ_CST);
			return 1;
		}
	}
	return 0;
}

/* the program unblocked the signal: what was held is sent again, to
 * this thread, and reaches the program's disposition */
static void held_release(void)
{
	siginfo_t si;

	while (held_take(&si))
		send_self(sys_gettid(), &si);
}

static int waiter_add(void)
{
	int i, none, tid = sys_gettid();

	for (i = 0; i < WAITERS_MAX; i++) {
		none = 0;
		if (__atomic_compare_exchange_n(&waiters[i], &none, tid, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return i;
	}
	return -1;  /* not woken by signals held elsewhere: they wait for an unblock */
}

static void waiter_del(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&waiters[slot], 0, __ATOMIC_SEQ_CST);
}

/* time left until end into *left; 0 when it has passed */
static int time_left(const struct timespec *end, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = end->tv_sec - now.tv_sec;
	left->tv_nsec = end->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += 1000000000;
	}
	return left->tv_sec >= 0;
}

/* sigtimedwait for a set that holds the freeze signal.  It stays in the
 * kernel's set, and blocked in this thread's kernel mask meanwhile, so
 * that no signal slips between the look at what is held and the wait.
 * A freeze so taken is sent again to this thread and handled as the
 * mask comes back; a wake from sigwrap_hold looks again at what is
 * held.  Neither is seen by the program, which waits on. */
static int wait_freeze_sig(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	uint64_t block = 1ULL << (ckpt_sig - 1), old;
	struct timespec end, left, *tl = timeout ? &left : NULL;
	siginfo_t si;
	int r, slot, err = 0, ours;

	if (timeout) {
		left = *timeout;
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout->tv_sec + (end.tv_nsec + timeout->tv_nsec) / 1000000000;
		end.tv_nsec = (end.tv_nsec + timeout->tv_nsec) % 1000000000;
	}
	for (;;) {
		sys_rt_sigprocmask(SIG_BLOCK, &block, &old);
		r = held_take(&si) ? ckpt_sig : -2;
		if (r == -2) {
			slot = waiter_add();
			r = next_sigtimedwait(set, &si, tl);
			err = errno;
			waiter_del(slot);
		}
		ours = r == ckpt_sig && (freeze_is_ours(r, &si) || sigwrap_is_wake(&si));
		if (ours && !sigwrap_is_wake(&si))
			send_self(sys_gettid(), &si);
		sys_rt_sigprocmask(SIG_SETMASK, &old, NULL);
		if (!ours)
			break;
		if (timeout && !time_left(&end, &left)) {
			errno = EAGAIN;
			return -1;
		}
	}
	if (r > 0 && info)
		*info = si;
	errno = err;
	return r;
}

static int waits_freeze_sig(const sigset_t *set)
{
	return ckpt_sig && set && sigismember(set, ckpt_sig) == 1;
}

__attribute__((visibility("default")))
int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	if (!next_sigtimedwait)
		sigwrap_init();
	if (waits_freeze_sig(set))
		return wait_freeze_sig(set, info, timeout);
	return next_sigtimedwait(set, info, timeout);
}

__attribute__((visibility("default")))
int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return sigtimedwait(set, info, NULL);
}

__attribute__((visibility("default")))
int sigwait(const sigset_t *set, int *sig)
{
	int r;

	do
		r = sigtimedwait(set, NULL, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	*sig = r;
	return 0;
}

/* A signalfd never takes the freeze signal: a freeze would be read as
 * the program's.  One sent by others while the program blocks it is
 * held, and reaches the program when it unblocks it or waits for it. */
__attribute__((visibility("default")))
int signalfd(int fd, const sigset_t *mask, int flags)
{
	sigset_t copy;

	if (!next_signalfd)
		sigwrap_init();
	if (waits_freeze_sig(mask)) {
		copy = *mask;
		sigdelset(&copy, ckpt_sig);
		mask = &copy;
	}
	return next_signalfd(fd, mask, flags);
}

/* A new thread starts with its creator's signal mask, in the kernel
 * and so also in the program's view: the creator's wants_blocked goes
 * with it.  Runs in the program's context: malloc is fine here. */
struct thread_start {
	void *(*fn)(void *);
	void *arg;
	int blocked;
};

static void *thread_start(void *p)
{
	struct thread_start s = *(struct thread_start *)p;

	free(p);
	wants_blocked = s.blocked;
	return s.fn(s.arg);
}

__attribute__((visibility("default")))
int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	struct thread_start *s;
	int r;

	if (!next)
		next = dlsym(RTLD_NEXT, "pthread_create");
	if (!wants_blocked)
		return next(t, attr, fn, arg);
	if (!(s = malloc(sizeof *s)))
		return EAGAIN;
	*s = (struct thread_start){ fn, arg, 1 };
	r = next(t, attr, thread_start, s);
	if (r)
		free(s);
	return r;
}
