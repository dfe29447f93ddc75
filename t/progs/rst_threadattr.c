/* rst_threadattr - per-thread state a restore must bring back, each
 * thread checking its own.
 *
 * usage: rst_threadattr
 *
 * Two workers: worker 0 pinned to CPU 0 with parent-death signal
 * SIGWINCH, worker 1 pinned to CPU 1 with SIGURG (both ignored by
 * default, so a parent's death changes nothing here); the main thread
 * keeps every CPU and no parent-death signal.  Every thread blocks
 * SIGRTMIN+5 and SIGRTMIN+6.  Pending before the checkpoint: SIGRTMIN+5
 * for the process, with the value 42, and SIGRTMIN+6 for worker 1 only,
 * with the value 7.  Prints "pid N", "ready rst_threadattr".
 * SIGUSR1: each thread checks its affinity, its parent-death signal and
 * what it sees pending (without taking it); "verify ok".  SIGTERM: the
 * same, then worker 1 takes SIGRTMIN+6 and the main thread SIGRTMIN+5,
 * each checking the value; "done ok", exit 0.
 * A mismatch: "FAIL ..." and exit 1. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define SIG_PROC (SIGRTMIN + 5)
#define SIG_THR  (SIGRTMIN + 6)

struct worker {
	pthread_t t;
	int cpu, pdeath;
	volatile int check, take, done;   /* main asks, the worker answers */
};

static struct worker w[2];

static void fail(int who, const char *what)
{
	printf("FAIL thread %d: %s\n", who, what);
	fflush(stdout);
	exit(1);
}

/* the calling thread's own view: affinity, parent-death signal, and
 * which of the two signals it sees pending */
static void check_self(int who, int cpu, int pdeath, int thr_pending)
{
	cpu_set_t set;
	sigset_t pend;
	int sig = -1;

	if (sched_getaffinity(0, sizeof set, &set) < 0)
		fail(who, "sched_getaffinity");
	if (cpu >= 0 && (CPU_COUNT(&set) != 1 || !CPU_ISSET(cpu, &set)))
		fail(who, "affinity is not its one CPU");
	if (cpu < 0 && CPU_COUNT(&set) < 2)
		fail(who, "affinity narrowed");
	if (prctl(PR_GET_PDEATHSIG, &sig) < 0 || sig != pdeath)
		fail(who, "parent-death signal");
	sigpending(&pend);
	if (!sigismember(&pend, SIG_PROC))
		fail(who, "process-directed signal no longer pending");
	if (sigismember(&pend, SIG_THR) != thr_pending)
		fail(who, thr_pending ? "its own signal no longer pending" :
				      "another thread's signal pending here");
}

static void take(int who, int sig)
{
	sigset_t s;
	siginfo_t si;
	struct timespec ts = { 0, 0 };

	sigemptyset(&s);
	sigaddset(&s, sig);
	if (sigtimedwait(&s, &si, &ts) != sig)
		fail(who, "pending signal not taken");
}

static void *worker_run(void *arg)
{
	struct worker *me = arg;
	int who = me - w;
	cpu_set_t set;
	struct timespec tick = { 0, 5 * 1000 * 1000 };

	CPU_ZERO(&set);
	CPU_SET(me->cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0 ||
	    prctl(PR_SET_PDEATHSIG, me->pdeath) < 0)
		fail(who, "setup");
	me->done = 1;
	for (;;) {
		nanosleep(&tick, NULL);
		if (!me->check)
			continue;
		check_self(who, me->cpu, me->pdeath, who == 1);
		if (me->take && who == 1)
			take(who, SIG_THR);
		me->check = 0;
	}
	return NULL;
}

/* ask both workers to check themselves, and wait for them */
static void workers_check(int and_take)
{
	struct timespec tick = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < 2; i++) {
		w[i].take = and_take;
		w[i].check = 1;
		while (w[i].check)
			nanosleep(&tick, NULL);
	}
}

int main(void)
{
	sigset_t block;
	union sigval v;
	int i;

	signals_init();
	sigemptyset(&block);
	sigaddset(&block, SIG_PROC);
	sigaddset(&block, SIG_THR);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);   /* inherited by both */
	w[0] = (struct worker){ .cpu = 0, .pdeath = SIGWINCH };
	w[1] = (struct worker){ .cpu = 1, .pdeath = SIGURG };
	for (i = 0; i < 2; i++)
		if (pthread_create(&w[i].t, NULL, worker_run, &w[i]))
			fail(i, "pthread_create");
	while (!w[0].done || !w[1].done)
		usleep(1000);
	v.sival_int = 42;
	sigqueue(getpid(), SIG_PROC, v);
	v.sival_int = 7;
	pthread_sigqueue(w[1].t, SIG_THR, v);
	/* the main thread takes SIGUSR1 and SIGTERM, nothing else */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	printf("pid %d\nready rst_threadattr\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		wait_request();
		check_self(-1, -1, 0, 0);
		workers_check(want_exit);
		if (want_exit)
			take(-1, SIG_PROC);
		if (verified())
			return 0;
	}
}
