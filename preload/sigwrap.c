/* sigwrap.c - the only calls of the program the shim wraps: those that
 * could block or replace the freeze signal.  The program sees its own
 * disposition of that signal, kept here; the kernel keeps ours.
 *
 * sigaction and signal may run in signal handlers: no malloc, no stdio. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "shim.h"

struct sigaction ckpt_prog_action;   /* SIG_DFL until the program sets one */

static int (*next_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*next_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*next_pthread_sigmask)(int, const sigset_t *, sigset_t *);
static sighandler_t (*next_signal)(int, sighandler_t);

void sigwrap_init(void)
{
	next_sigaction = dlsym(RTLD_NEXT, "sigaction");
	next_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
	next_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
	next_signal = dlsym(RTLD_NEXT, "signal");
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
