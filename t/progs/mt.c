/* mt - threads in every state a freeze meets, checking each other.
 *
 * usage: mt [NWORKERS]   (default 8)
 *
 * Workers add to a shared counter and each to its own, both under one
 * mutex; a checker thread holds the mutex and checks that the shared
 * counter is the sum of the others, over and over.  Three more threads
 * sit blocked: one in pthread_cond_wait (a futex), one in nanosleep,
 * one in read() on a pipe.  Each thread prints "thread KIND N tid T";
 * then "ready mt pid=P threads=N", then "progress shared=S" every
 * 100 ms.
 *
 * SIGUSR1: the main thread pings the blocked threads (signals the
 * condition, writes the next byte into the pipe) and waits, bounded,
 * for each to answer; it checks every worker moved since the last
 * verify; prints "verify ok shared=S" and goes on.  SIGTERM: the same,
 * then "done ok" and exit 0.  An inconsistency, a lost byte, a thread
 * that does not answer: "FAIL ..." and exit 1.  A read() that fails
 * with EINTR is reported as "FAIL read: EINTR": a freeze must be
 * invisible to a blocked read (its signal handler uses SA_RESTART).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define MAXW 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared, mine[MAXW];
static int nworkers;

static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t cgen, cack;      /* under cmu */

static int pfd[2];
static volatile uint64_t rgot;   /* bytes the reader got, in order */
static volatile uint64_t slept;  /* sleeps the sleeper finished */
static pthread_mutex_t outmu = PTHREAD_MUTEX_INITIALIZER;


static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pthread_mutex_lock(&outmu);
	vprintf(fmt, ap);
	pthread_mutex_unlock(&outmu);
	va_end(ap);
}

#define FAIL(...) do { say("FAIL " __VA_ARGS__); exit(1); } while (0)

static int tid(void)
{
	return (int)syscall(SYS_gettid);
}

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			FAIL("nanosleep: %s\n", strerror(errno));
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;

	say("thread worker %d tid %d\n", me, tid());
	for (;;) {
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&mu);
			shared++;
			mine[me]++;
			pthread_mutex_unlock(&mu);
		}
		nap_us(1000);
	}
	return NULL;
}

static void *checker(void *arg)
{
	(void)arg;
	say("thread checker 0 tid %d\n", tid());
	for (;;) {
		pthread_mutex_lock(&mu);
		uint64_t sum = 0;
		for (int i = 0; i < nworkers; i++)
			sum += mine[i];
		if (sum != shared)
			FAIL("inconsistent: shared=%" PRIu64 " sum=%" PRIu64 "\n",
			     shared, sum);
		pthread_mutex_unlock(&mu);
		nap_us(500);
	}
}

static void *condwaiter(void *arg)
{
	(void)arg;
	say("thread condwait 0 tid %d\n", tid());
	pthread_mutex_lock(&cmu);
	for (;;) {
		uint64_t seen = cgen;
		while (cgen == seen)
			pthread_cond_wait(&cv, &cmu);
		cack = cgen;
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	say("thread sleep 0 tid %d\n", tid());
	for (;;) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		nap_us(200000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int64_t ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL
		             + (t1.tv_nsec - t0.tv_nsec);
		if (ns < 200000000LL)
			FAIL("sleep: woke after %" PRId64 " ns of 200 ms\n", ns);
		slept++;
	}
}

static void *reader(void *arg)
{
	(void)arg;
	say("thread read 0 tid %d\n", tid());
	for (;;) {
		unsigned char b;
		ssize_t n = read(pfd[0], &b, 1);
		if (n < 0)
			FAIL("read: %s\n", errno == EINTR ? "EINTR" : strerror(errno));
		if (n == 0)
			FAIL("read: end of file\n");
		if (b != (unsigned char)(rgot + 1))
			FAIL("read: byte %u, want %u\n", b, (unsigned)(unsigned char)(rgot + 1));
		rgot++;
	}
}

/* wait up to 2 s for *v to reach want */
static int await(volatile uint64_t *v, uint64_t want, pthread_mutex_t *m)
{
	for (int i = 0; i < 2000; i++) {
		if (m)
			pthread_mutex_lock(m);
		uint64_t now = *v;
		if (m)
			pthread_mutex_unlock(m);
		if (now >= want)
			return 1;
		nap_us(1000);
	}
	return 0;
}

static void verify(uint64_t *last)
{
	pthread_mutex_lock(&cmu);
	uint64_t g = ++cgen;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&cmu);
	if (!await(&cack, g, &cmu))
		FAIL("condwait thread did not wake\n");

	unsigned char b = (unsigned char)(rgot + 1);
	uint64_t want = rgot + 1;
	if (write(pfd[1], &b, 1) != 1)
		FAIL("write pipe: %s\n", strerror(errno));
	if (!await(&rgot, want, NULL))
		FAIL("read thread did not get byte %u\n", b);

	uint64_t s0 = slept;
	if (!await(&slept, s0 + 1, NULL))
		FAIL("sleep thread did not wake\n");

	for (int i = 0; i < nworkers; i++) {
		pthread_mutex_lock(&mu);
		uint64_t m = mine[i];
		pthread_mutex_unlock(&mu);
		if (m == last[i] && !await(&mine[i], m + 1, &mu))
			FAIL("worker %d stuck at %" PRIu64 "\n", i, m);
		last[i] = m;
	}
	pthread_mutex_lock(&mu);
	uint64_t s = shared;
	pthread_mutex_unlock(&mu);
	say("verify ok shared=%" PRIu64 " read=%" PRIu64 " slept=%" PRIu64 "\n",
	    s, (uint64_t)rgot, (uint64_t)slept);
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, fn, arg);
	if (e)
		FAIL("pthread_create: %s\n", strerror(e));
}

int main(int argc, char **argv)
{
	static uint64_t last[MAXW];

	nworkers = argc > 1 ? atoi(argv[1]) : 8;
	if (argc > 2 || nworkers < 1 || nworkers > MAXW) {
		fprintf(stderr, "usage: mt [NWORKERS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	if (pipe(pfd) < 0)
		FAIL("pipe: %s\n", strerror(errno));

	say("pid %d\n", (int)getpid());
	say("thread main 0 tid %d\n", tid());
	for (int i = 0; i < nworkers; i++)
		start(worker, (void *)(intptr_t)i);
	start(checker, NULL);
	start(condwaiter, NULL);
	start(sleeper, NULL);
	start(reader, NULL);
	/* the threads said who they are before ready */
	for (int i = 0; i < 2000; i++) {
		int n = 0;
		pthread_mutex_lock(&mu);
		for (int w = 0; w < nworkers; w++)
			n += mine[w] > 0;
		pthread_mutex_unlock(&mu);
		if (n == nworkers)
			break;
		nap_us(1000);
	}
	nap_us(10000);
	say("ready mt pid=%d threads=%d\n", (int)getpid(), nworkers + 5);

	for (int tick = 0;; tick++) {
		if (want_verify || want_exit) {
			verify(last);
			if (want_exit) {
				say("done ok\n");
				exit(0);
			}
			want_verify = 0;
		}
		nap_us(10000);
		if (tick % 10 == 0) {
			pthread_mutex_lock(&mu);
			uint64_t s = shared;
			pthread_mutex_unlock(&mu);
			say("progress shared=%" PRIu64 "\n", s);
		}
	}
}
