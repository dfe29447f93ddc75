/* rtfull - fills its user's queue of real-time signals.
 *
 * usage: rtfull    (run it with a small `ulimit -i`)
 *
 * Blocks SIGRTMIN and queues it to itself (sigqueue) until the kernel
 * says EAGAIN: the queue every process of the uid shares is full, and
 * no one may queue a real-time signal to this process.  Prints "pid
 * P", "queued N", "ready rtfull".  SIGUSR1: takes every queued signal
 * back (sigtimedwait), prints "drained N" and "verify ok".  SIGTERM:
 * "done ok". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(void)
{
	struct timespec zero = { 0, 0 };
	union sigval v = { .sival_int = 1 };
	sigset_t rt;
	int n = 0, d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	printf("pid %d\n", (int)getpid());
	while (sigqueue(getpid(), SIGRTMIN, v) == 0)
		if (++n > 1000000)
			break;
	if (errno != EAGAIN) {
		printf("FAIL sigqueue: %s\n", strerror(errno));
		return 1;
	}
	printf("queued %d\nready rtfull\n", n);
	for (;;) {
		wait_request();
		for (d = 0; sigtimedwait(&rt, NULL, &zero) == SIGRTMIN; d++)
			;
		printf("drained %d\n", d);
		if (verified())
			return 0;
	}
}
