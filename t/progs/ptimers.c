/* ptimers - POSIX timers (timer_create) across a checkpoint.
 *
 * usage: ptimers [pending | threadclock | cpu]
 *
 * Makes four timers: A, periodic every 20 ms on CLOCK_MONOTONIC,
 * SIGRTMIN with sigev_value 0x5eed; B, one shot an hour ahead on
 * CLOCK_REALTIME, SIGRTMIN+1, value 0xfa2; a timer made and deleted (a
 * gap in the ids); C, every 30 ms on CLOCK_MONOTONIC to one worker
 * thread (SIGEV_THREAD_ID), SIGRTMIN+2, value 0x7d.  Prints "pid N",
 * "ids A B C", "worker TID", "ready ptimers".  Each handler checks its
 * si_value and timer id, C's also that it runs on the worker.
 * SIGUSR1: check that each id is still a timer, A's and C's intervals,
 * B's time left (within the hour, an interval of 0), that A and C tick
 * at their period over 300 ms, and no handler saw a wrong value:
 * "timers a=N c=M left=S" then "verify ok"; else "FAIL ..." and exit 1.  SIGTERM:
 * "done ok".  pending: A's signal stays blocked until the first
 * SIGUSR1, so that it is pending at a checkpoint; then it must be
 * pending, and come with A's siginfo once unblocked.  threadclock:
 * the worker also makes a timer on its own CPU clock
 * (CLOCK_THREAD_CPUTIME_ID), which a checkpoint must refuse.  cpu:
 * two more timers, D on the process's CPU clock and E on the worker's
 * (pthread_getcpuclockid), SIGEV_NONE, armed 1000 s of CPU time ahead:
 * each must still be there, with at most 1000 s left; "cpuclock N"
 * gives E's clock.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static timer_t ta, tb, tc, td, te;
static int cpu_timers;      /* "cpu": D and E */
static volatile int worker_tid;
static volatile sig_atomic_t ticks_a, ticks_c, wrong;
static int hold_a;          /* "pending": A's signal blocked until the first verify */


static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGRTMIN) {
		if (si->si_value.sival_int != 0x5eed || si->si_timerid != (int)(intptr_t)ta)
			wrong = 1;
		ticks_a++;
	} else if (sig == SIGRTMIN + 2) {
		if (si->si_value.sival_int != 0x7d || si->si_timerid != (int)(intptr_t)tc ||
		    syscall(SYS_gettid) != worker_tid)
			wrong = 2;
		ticks_c++;
	} else {
		wrong = 3;  /* B fires only in an hour */
	}
}

static void *worker(void *arg)
{
	struct sigevent ev = { .sigev_notify = SIGEV_NONE };
	sigset_t s;
	timer_t t;

	if (arg && timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &t) < 0)
		exit(3);
	worker_tid = syscall(SYS_gettid);
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGRTMIN + 1);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);  /* only C's signal here */
	for (;;)
		pause();
	return NULL;
}

static void die_if(int bad, const char *what)
{
	if (bad) {
		printf("FAIL %s\n", what);
		exit(1);
	}
}

static timer_t make(clockid_t clock, int notify, int sig, int value, long first_ms, long every_ms)
{
	struct sigevent ev = { .sigev_notify = notify, .sigev_signo = sig };
	struct itimerspec its = { { every_ms / 1000, every_ms % 1000 * 1000000 },
				  { first_ms / 1000, first_ms % 1000 * 1000000 } };
	timer_t t;

	ev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		ev._sigev_un._tid = worker_tid;
	die_if(timer_create(clock, &ev, &t) < 0, "timer_create");
	die_if(timer_settime(t, 0, &its, NULL) < 0, "timer_settime");
	return t;
}

static double secs(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

/* ticks of A and C over 300 ms of CLOCK_MONOTONIC */
static void period_check(int *a, int *c)
{
	struct timespec start, now;
	int a0 = ticks_a, c0 = ticks_c;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (secs(&now) - secs(&start) < 0.3);
	*a = ticks_a - a0;
	*c = ticks_c - c0;
}

/* A's signal, held since the start: pending, and A's once unblocked */
static int release_a(void)
{
	sigset_t s;

	sigpending(&s);
	if (!sigismember(&s, SIGRTMIN))
		return printf("FAIL A's signal is not pending\n"), -1;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	hold_a = 0;
	return 0;
}

static int verify(void)
{
	struct itimerspec ia, ib, ic;
	int a, c;

	if (hold_a && release_a() < 0)
		return -1;

	if (timer_gettime(ta, &ia) < 0 || timer_gettime(tb, &ib) < 0 || timer_gettime(tc, &ic) < 0)
		return printf("FAIL a timer id is gone: %m\n"), -1;
	if (ia.it_interval.tv_sec || ia.it_interval.tv_nsec != 20000000 ||
	    ic.it_interval.tv_sec || ic.it_interval.tv_nsec != 30000000)
		return printf("FAIL intervals %ld %ld\n", ia.it_interval.tv_nsec, ic.it_interval.tv_nsec), -1;
	if (ib.it_interval.tv_sec || ib.it_interval.tv_nsec || ib.it_value.tv_sec < 1800 ||
	    ib.it_value.tv_sec > 3600)
		return printf("FAIL B: %ld s left, interval %ld\n", (long)ib.it_value.tv_sec,
			      (long)ib.it_interval.tv_sec), -1;
	if (cpu_timers && (timer_gettime(td, &ia) < 0 || timer_gettime(te, &ic) < 0 ||
			   ia.it_value.tv_sec >= 1000 || ic.it_value.tv_sec >= 1000 ||
			   (!ia.it_value.tv_sec && !ia.it_value.tv_nsec)))
		return printf("FAIL the CPU-clock timers: %m\n"), -1;
	period_check(&a, &c);
	/* 300 ms: 15 of A, 10 of C, give or take a loaded machine */
	if (a < 8 || a > 20 || c < 5 || c > 14)
		return printf("FAIL ticks in 300 ms: a=%d c=%d\n", a, c), -1;
	if (wrong)
		return printf("FAIL a handler saw the wrong timer (%d)\n", (int)wrong), -1;
	printf("timers a=%d c=%d left=%ld\n", a, c, (long)ib.it_value.tv_sec);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART };
	pthread_t th;
	timer_t gap;

	setvbuf(stdout, NULL, _IOLBF, 0);
	hold_a = argc > 1 && !strcmp(argv[1], "pending");
	if (hold_a) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
	}
	sigaction(SIGRTMIN, &sa, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigaction(SIGRTMIN + 2, &sa, NULL);
	die_if(pthread_create(&th, NULL, worker, argc > 1 && !strcmp(argv[1], "threadclock") ? &th : NULL),
	       "pthread_create");
	while (!worker_tid)
		usleep(1000);
	ta = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, 0x5eed, 20, 20);
	tb = make(CLOCK_REALTIME, SIGEV_SIGNAL, SIGRTMIN + 1, 0xfa2, 3600 * 1000, 0);
	gap = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 0);
	timer_delete(gap);
	tc = make(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN + 2, 0x7d, 30, 30);
	cpu_timers = argc > 1 && !strcmp(argv[1], "cpu");
	if (cpu_timers) {
		clockid_t wc;

		die_if(pthread_getcpuclockid(th, &wc) != 0, "pthread_getcpuclockid");
		td = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, 0, 0, 1000 * 1000, 0);
		te = make(wc, SIGEV_NONE, 0, 0, 1000 * 1000, 0);
		printf("cpuclock %d\n", (int)wc);
	}
	printf("ids %d %d %d\nworker %d\n", (int)(intptr_t)ta, (int)(intptr_t)tb, (int)(intptr_t)tc,
	       worker_tid);
	return serve_verify("ptimers", verify);
}
