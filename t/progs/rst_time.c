/* rst_time - the vDSO and rseq after a restore.
 *
 * usage: rst_time
 *
 * Prints "pid N", then "ready rst_time", then "tick N" every 10 ms; each
 * tick reads CLOCK_MONOTONIC and CLOCK_REALTIME through libc (the vDSO,
 * whose address glibc cached) and the CPU through sched_getcpu (glibc
 * reads rseq's cpu_id), and checks them against the raw system calls:
 * the clocks within a second, monotonic never going back, the CPU in
 * range.  SIGUSR1: print "verify ok cpu=N" and go on.  SIGTERM: print
 * "done ok" and exit 0.  A mismatch: "FAIL ..." and exit 1.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_verify, want_exit;

static void on_usr1(int s) { (void)s; want_verify = 1; }
static void on_term(int s) { (void)s; want_exit = 1; }

static double secs(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

static void fail(const char *what, double a, double b)
{
	printf("FAIL %s: %.6f vs %.6f\n", what, a, b);
	exit(1);
}

/* one round of checks; returns the cpu */
static int check(double *last_mono)
{
	struct timespec v, s;
	unsigned cpu = 0;
	int c;

	clock_gettime(CLOCK_MONOTONIC, &v);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s);
	if (secs(&v) < *last_mono)
		fail("monotonic went back", secs(&v), *last_mono);
	if (secs(&s) - secs(&v) > 1 || secs(&s) < secs(&v))
		fail("monotonic vdso vs syscall", secs(&v), secs(&s));
	*last_mono = secs(&v);
	clock_gettime(CLOCK_REALTIME, &v);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &s);
	if (secs(&s) - secs(&v) > 1 || secs(&v) - secs(&s) > 1)
		fail("realtime vdso vs syscall", secs(&v), secs(&s));
	c = sched_getcpu();
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	if (c < 0 || c >= sysconf(_SC_NPROCESSORS_CONF))
		fail("sched_getcpu out of range", c, cpu);
	return c;
}

int main(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	double last = 0;
	unsigned long n = 0;
	int cpu;

	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\n", (int)getpid());
	check(&last);
	printf("ready rst_time\n");
	for (;;) {
		cpu = check(&last);
		if (want_verify) {
			want_verify = 0;
			printf("verify ok cpu=%d\n", cpu);
		}
		if (want_exit) {
			printf("done ok\n");
			return 0;
		}
		printf("tick %lu\n", ++n);
		nanosleep(&ts, NULL);
	}
}
