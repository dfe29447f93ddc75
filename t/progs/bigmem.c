/* bigmem - MIB MiB of present, incompressible memory, and a thread
 * that measures how long the program is stopped.
 *
 * usage: bigmem MIB
 *
 * Fills MIB MiB of anonymous memory with a pseudo-random stream, then
 * prints "ready bigmem pid=P mib=M".  A ticker thread reads the
 * monotonic clock every 100 us or so and keeps the largest gap between
 * two readings: a freeze stops it, so the gap is the program's pause.
 * SIGUSR1: print "maxgap_us N" (the largest gap since the last SIGUSR1)
 * and start over.  SIGTERM: check the memory, print "done ok", exit 0
 * ("FAIL ..." and exit 1 if a word changed).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_report, want_exit;
static volatile int64_t maxgap_ns;
static volatile int reset;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_report = 1;
	else
		want_exit = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *ticker(void *arg)
{
	int64_t last = now_ns();

	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
		int64_t t = now_ns();
		if (reset) {
			reset = 0;
			maxgap_ns = 0;
		} else if (t - last > maxgap_ns) {
			maxgap_ns = t - last;
		}
		last = t;
	}
	return NULL;
}

static uint64_t word(uint64_t *s)
{
	uint64_t x = *s;   /* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

int main(int argc, char **argv)
{
	if (argc != 2 || atol(argv[1]) <= 0) {
		fprintf(stderr, "usage: bigmem MIB\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[1]) << 17;   /* words */
	uint64_t *buf = mmap(NULL, n * 8, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return perror("mmap"), 1;
	uint64_t s = 0x636b7074;
	for (size_t i = 0; i < n; i++)
		buf[i] = word(&s);

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	pthread_t t;
	if (pthread_create(&t, NULL, ticker, NULL))
		return fprintf(stderr, "bigmem: pthread_create failed\n"), 1;
	printf("ready bigmem pid=%d mib=%s\n", (int)getpid(), argv[1]);

	for (;;) {
		pause();
		if (want_report) {
			want_report = 0;
			printf("maxgap_us %" PRId64 "\n", maxgap_ns / 1000);
			reset = 1;
		}
		if (want_exit) {
			s = 0x636b7074;
			for (size_t i = 0; i < n; i++)
				if (buf[i] != word(&s)) {
					printf("FAIL word %zu changed\n", i);
					return 1;
				}
			printf("done ok\n");
			return 0;
		}
	}
}
