/* apihooks - a program that uses include/ckpt.h: two hooks, each
 * printing "hook N EVENT tid=T handler=H" as it runs (H: 1 when it
 * runs on an alternate signal stack, as a signal handler may, which a
 * hook must never), in the order they were added.
 *
 * usage: apihooks
 *
 * Prints "running 0|1" (ckpt_running()), "pid P", "ready apihooks",
 * then ticks a counter; SIGUSR1: "verify ok ticks=N hooks=K" (K: the
 * hook lines printed so far), SIGTERM: the same as "done ok", exit 0.
 * A hook on the main thread, or added that fails under the shim:
 * "FAIL ...", exit 1. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "../../include/ckpt.h"
#include "prog.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int nlines;

static const char *name(enum ckpt_event ev)
{
	return ev == CKPT_EVENT_CHECKPOINT ? "checkpoint" :
	       ev == CKPT_EVENT_RESUME ? "resume" :
	       ev == CKPT_EVENT_RESTORE ? "restore" : "?";
}

static void hook(enum ckpt_event ev, void *arg)
{
	long tid = syscall(SYS_gettid);
	stack_t ss;

	/* mallocs and stdio: a normal thread may */
	pthread_mutex_lock(&lock);
	sigaltstack(NULL, &ss);
	if (tid == getpid())
		printf("FAIL hook %d ran on the main thread\n", *(int *)arg);
	printf("hook %d %s tid=%ld handler=%d\n", *(int *)arg, name(ev), tid,
	       !!(ss.ss_flags & SS_ONSTACK));
	nlines++;
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

int main(void)
{
	static int one = 1, two = 2;
	unsigned long ticks = 0;

	printf("running %d\n", ckpt_running());
	if (ckpt_running() && (ckpt_hook(hook, &one) < 0 || ckpt_hook(hook, &two) < 0)) {
		printf("FAIL ckpt_hook\n");
		return 1;
	}
	if (!ckpt_running() && ckpt_hook(hook, &one) != -1) {
		printf("FAIL ckpt_hook without the shim\n");
		return 1;
	}
	printf("pid %d\nready apihooks\n", (int)getpid());
	fflush(stdout);
	signals_init();
	for (;;) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
		ticks++;
		if (want_verify || want_exit) {
			pthread_mutex_lock(&lock);
			printf("%s ok ticks=%lu hooks=%d\n", want_exit ? "done" : "verify", ticks,
			       nlines);
			fflush(stdout);
			pthread_mutex_unlock(&lock);
			if (want_exit)
				return 0;
			want_verify = 0;
		}
	}
}
