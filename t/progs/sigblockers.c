/* sigblockers - threads the freeze signal cannot reach, counting.
 *
 * usage: sigblockers [vfork FILE | churn]
 *
 * A POSIX timer with SIGEV_THREAD (as Debian's vim makes; glibc runs it
 * from a helper thread that blocks every signal) whose callback counts
 * every 20 ms, and a thread that blocks every signal with the raw
 * system call (the shim does not see it) and counts in a loop.  Prints
 * "pid P", "helper TID", "spinner TID", "ready sigblockers".  SIGUSR1:
 * both counts must go on within a second, and each of the three
 * threads' signal masks (/proc/self/task/TID/status SigBlk) must be the
 * one it had when ready: "verify ok timer=N spin=M".  SIGTERM: "done
 * ok", exit 0.
 *
 * vfork FILE: the spinner first vforks a child that waits until FILE
 * exists (the spinner waits in the kernel meanwhile, where ptrace
 * cannot stop it).  churn: threads that block every signal come and go
 * all the time, each spinning for up to 2 ms (one may exit while a
 * checkpoint adopts it). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static volatile unsigned long fired, spins;
static int spinner_tid;
static const char *vfork_until;  /* vfork mode: the file that ends it */
static volatile int spinner_up;

static void on_timer(union sigval v)
{
	(void)v;
	__atomic_add_fetch(&fired, 1, __ATOMIC_RELAXED);
}

static void *spinner(void *arg)
{
	uint64_t all = ~0ULL;
	struct timespec tick = { 0, 1000000 };

	(void)arg;
	/* past the shim's sigprocmask wrapper, which keeps the freeze
	 * signal open */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
	spinner_tid = syscall(SYS_gettid);
	__atomic_store_n(&spinner_up, 1, __ATOMIC_RELEASE);
	if (vfork_until && vfork() == 0) {
		/* the parent's memory: raw calls only */
		while (syscall(SYS_access, vfork_until, F_OK) < 0)
			syscall(SYS_nanosleep, &tick, NULL);
		syscall(SYS_exit, 0);
	}
	for (;;) {
		__atomic_add_fetch(&spins, 1, __ATOMIC_RELAXED);
		if (spins % 1000 == 0)
			syscall(SYS_nanosleep, &tick, NULL);
	}
	return NULL;
}

static void *short_blocker(void *arg)
{
	uint64_t all = ~0ULL;
	struct timespec t0, t;
	long ns = (long)(uintptr_t)arg;

	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < ns);
	return NULL;
}

/* a thread that blocks every signal and exits within 2 ms, again and
 * again */
static void *churner(void *arg)
{
	pthread_attr_t a;
	pthread_t th;
	unsigned seed = 1;

	(void)arg;
	requests_to_main();
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if (pthread_create(&th, &a, short_blocker, (void *)(uintptr_t)(rand_r(&seed) % 2000000)))
			usleep(1000);
		usleep(500);
	}
	return NULL;
}

/* SigBlk of thread tid, 16 hex digits, into out */
static int sigblk(int tid, char out[17])
{
	char path[64], line[256];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "SigBlk: %16s", out) == 1)
			r = 0;
	fclose(f);
	return r;
}

/* the target of the SIGEV_THREAD timer: glibc's helper thread */
static int helper_tid(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/timers", "re");
	int tid = -1;

	while (f && fgets(line, sizeof line, f))
		sscanf(line, "notify: signal/tid.%d", &tid);
	if (f)
		fclose(f);
	return tid;
}

static int tids[3];
static char masks[3][17];

/* the helper (tids[1]) opens SIGTIMER (32) while it waits in
 * sigwaitinfo, and glibc blocks it and SIGSETXID (33) while it makes a
 * thread for an expiry: those two bits are not compared */
static int masks_same(void)
{
	unsigned long long open = 3ULL << 31;
	char now[17];
	int i;

	for (i = 0; i < 3; i++)
		if (sigblk(tids[i], now) < 0 ||
		    (strtoull(now, NULL, 16) | (i == 1 ? open : 0)) !=
		    (strtoull(masks[i], NULL, 16) | (i == 1 ? open : 0)))
			return printf("FAIL thread %d SigBlk %s, was %s\n", tids[i], now, masks[i]), -1;
	return 0;
}

static int counts_go_on(void)
{
	unsigned long f0 = fired, s0 = spins;
	int i;

	for (i = 0; i < 100 && (fired == f0 || spins == s0); i++)
		usleep(10000);
	if (fired == f0 || spins == s0)
		return printf("FAIL counts stay: timer=%lu spin=%lu\n", f0, s0), -1;
	printf("counts timer=%lu spin=%lu\n", fired, spins);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer };
	struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };
	pthread_t th;
	timer_t t;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "vfork"))
		vfork_until = argv[2];
	signals_init();
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) < 0 || timer_settime(t, 0, &its, NULL) < 0)
		return printf("FAIL timer_create\n"), 1;
	if (pthread_create(&th, NULL, spinner, NULL))
		return printf("FAIL pthread_create\n"), 1;
	if (argc > 1 && !strcmp(argv[1], "churn") && pthread_create(&th, NULL, churner, NULL))
		return printf("FAIL pthread_create\n"), 1;
	while (!__atomic_load_n(&spinner_up, __ATOMIC_ACQUIRE) || !fired)
		usleep(1000);
	tids[0] = getpid();
	tids[1] = helper_tid();
	tids[2] = spinner_tid;
	for (i = 0; i < 3; i++)
		if (sigblk(tids[i], masks[i]) < 0)
			return printf("FAIL SigBlk of %d\n", tids[i]), 1;
	printf("pid %d\nhelper %d\nspinner %d\nready sigblockers\n", tids[0], tids[1], tids[2]);
	for (;;) {
		wait_request();
		if (counts_go_on() < 0 || masks_same() < 0)
			return 1;
		printf(want_exit ? "done ok\n" : "verify ok timer=%lu spin=%lu\n", fired, spins);
		if (want_exit)
			return 0;
		want_verify = 0;
	}
}
