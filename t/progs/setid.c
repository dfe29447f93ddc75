/* setid - threads with masks of their own, and set*id calls that every
 * thread must answer.
 *
 * usage: setid [UID GID]
 *
 * Three threads each block a signal set of their own and sleep.  The
 * main thread prints "pid P", "thread N tid T" for each, and
 * "ready setid".  On SIGUSR1 (verify) or SIGTERM (finish), the main
 * thread calls setgroups, setgid and setuid (to its own ids, or with
 * UID GID, once, to those: root drops to that user).  glibc makes
 * every thread of the process run the call too (its SIGSETXID
 * broadcast), so a thread that blocks glibc's internal signal hangs
 * it: a watchdog says "FAIL setid: hung" after 5 s.  Each thread then
 * checks that its mask is still its own.  Prints "ids uid=U gid=G",
 * then "verify ok" or "done ok". */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define NT 3

static volatile int checks[NT], want_check;
static volatile double setid_since;   /* 0: not in a set*id call */

static void fail(const char *what)
{
	printf("FAIL %s\n", what);
	fflush(stdout);
	_exit(1);
}

/* thread i blocks SIGUSR2 when i is odd, SIGRTMIN+i, and SIGHUP when
 * i is 2: three different masks */
static void own_mask(int i, sigset_t *s)
{
	sigemptyset(s);
	if (i & 1)
		sigaddset(s, SIGUSR2);
	sigaddset(s, SIGRTMIN + i);
	if (i == 2)
		sigaddset(s, SIGHUP);
	/* not SIGUSR1/SIGTERM: the main thread takes those */
	sigaddset(s, SIGUSR1);
	sigaddset(s, SIGTERM);
}

static void *thread_main(void *arg)
{
	int i = (int)(long)arg, seen = 0;
	sigset_t want, now;

	own_mask(i, &want);
	pthread_sigmask(SIG_SETMASK, &want, NULL);
	printf("thread %d tid %ld\n", i, (long)syscall(SYS_gettid));
	fflush(stdout);
	for (;;) {
		struct timespec ts = { 0, 5000000 };

		nanosleep(&ts, NULL);
		if (want_check == seen)
			continue;
		seen = want_check;
		pthread_sigmask(SIG_BLOCK, NULL, &now);
		for (int s = 1; s < 65; s++)
			if (sigismember(&now, s) != sigismember(&want, s)) {
				printf("FAIL thread %d: signal %d %s\n", i, s,
				       sigismember(&now, s) ? "blocked" : "not blocked");
				fflush(stdout);
				_exit(1);
			}
		checks[i] = seen;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* polls: its sleeps end early whenever a set*id broadcast reaches it */
static void *watchdog(void *arg)
{
	(void)arg;
	requests_to_main();
	for (;;) {
		usleep(50000);
		if (setid_since && now_s() - setid_since > 5)
			fail("setid: hung in a set*id call for 5 s");
	}
	return NULL;
}

static void set_ids(uid_t uid, gid_t gid)
{
	gid_t groups[64];
	int n = getgroups(64, groups);

	setid_since = now_s();
	if (n < 0)
		fail("getgroups");
	if (getuid() == 0 && setgroups(n, groups) < 0)
		fail("setgroups");
	if (setgid(gid) < 0)
		fail("setgid");
	if (setuid(uid) < 0)
		fail("setuid");
	setid_since = 0;
}

static void check_threads(void)
{
	int round = ++want_check;

	for (int t = 0; t < 400; t++) {
		int all = 1;

		for (int i = 0; i < NT; i++)
			all &= checks[i] == round;
		if (all)
			return;
		usleep(5000);
	}
	fail("threads did not check their masks");
}

int main(int argc, char **argv)
{
	pthread_t t;
	uid_t to_uid = argc == 3 ? (uid_t)atoi(argv[1]) : (uid_t)-1;
	gid_t to_gid = argc == 3 ? (gid_t)atoi(argv[2]) : (gid_t)-1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	printf("pid %d\n", (int)getpid());
	for (long i = 0; i < NT; i++)
		if (pthread_create(&t, NULL, thread_main, (void *)i))
			fail("pthread_create");
	if (pthread_create(&t, NULL, watchdog, NULL))
		fail("pthread_create");
	check_threads();
	printf("ready setid\n");
	for (;;) {
		wait_request();
		if (to_uid != (uid_t)-1) {
			set_ids(to_uid, to_gid);
			to_uid = (uid_t)-1;
		} else {
			set_ids(getuid(), getgid());
		}
		check_threads();
		printf("ids uid=%d gid=%d\n", (int)getuid(), (int)getgid());
		if (verified())
			return 0;
	}
}
