/* manythreads - more threads than a fixed table would hold.
 *
 * usage: manythreads N
 *
 * Starts N threads on small stacks; each waits on one condition and
 * answers every round of it.  Prints "pid P", then "ready manythreads
 * n=N".  SIGUSR1: a new round; every thread must answer within 20 s:
 * "verify ok answered=N", else "FAIL answered=K of N".  SIGTERM: the
 * same, then "done ok". */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static int round_no, answered;

static void *member(void *arg)
{
	int seen = 0;

	(void)arg;
	requests_to_main();
	pthread_mutex_lock(&mu);
	for (;;) {
		while (round_no == seen)
			pthread_cond_wait(&cv, &mu);
		seen = round_no;
		answered++;
		pthread_cond_signal(&done_cv);
	}
	return NULL;
}

/* a round: 1 when all n answered */
static int ask_all(int n)
{
	struct timespec end;
	int ok;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 20;
	pthread_mutex_lock(&mu);
	round_no++;
	answered = 0;
	pthread_cond_broadcast(&cv);
	while (answered < n && pthread_cond_timedwait(&done_cv, &mu, &end) == 0)
		;
	ok = answered == n;
	if (!ok)
		printf("FAIL answered=%d of %d\n", answered, n);
	pthread_mutex_unlock(&mu);
	return ok;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, i, e, tries;
	pthread_attr_t a;
	pthread_t t;

	if (n < 1) {
		fprintf(stderr, "usage: manythreads N\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	printf("pid %d\n", (int)getpid());
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	/* EAGAIN: the machine's pids are short for a moment (pid_max is
	 * shared with every other test that runs): wait up to 30 s */
	for (i = 0, tries = 0; i < n; i++)
		while ((e = pthread_create(&t, &a, member, NULL))) {
			if (e != EAGAIN || ++tries > 3000) {
				printf("FAIL pthread_create %d: %s\n", i, strerror(e));
				return 1;
			}
			usleep(10000);
		}
	if (!ask_all(n))
		return 1;
	printf("ready manythreads n=%d\n", n);
	for (;;) {
		wait_request();
		if (!ask_all(n))
			return 1;
		printf("answered=%d\n", n);
		if (verified())
			return 0;
	}
}
