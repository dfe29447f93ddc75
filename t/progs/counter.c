/* counter - one thread counting, with MIB MiB of patterned memory.
 *
 * usage: counter [-m MIB] [-w FILE] [-i MS] [-n TICKS] [-b|-B] [-s SIG] [-D]
 *
 * Prints "pid N", "addr counter 0xADDR", then "ready counter ...", then
 * "tick N" every MS milliseconds (default 10).  Each tick checks the
 * counter against its shadow copy and one MiB of the pattern, in turn,
 * so a checkpoint or a restore that loses memory is caught while it
 * runs.  SIGUSR1: check all of the memory, print "verify ok ..." and go
 * on.  SIGTERM, or TICKS ticks done: check all, print "done ok ...",
 * exit 0.  Any mismatch: print "FAIL ..." and exit 1.
 *
 * -D: make the process non-dumpable (PR_SET_DUMPABLE 0), as a setuid
 * program is: unprivileged, it cannot open its own /proc/self/mem.
 * -w FILE: write a copy of the patterned memory to FILE before ready.
 * -b: block every signal but SIGUSR1 and SIGTERM (the freeze signal
 * too, as far as the program knows), and check each tick that the mask
 * reads back as set, but for signal 63 or $CKPT_SIGNAL.  -B: the same,
 * and 63 too must read back blocked (the shim hides its signal).  -s SIG: install a handler for signal SIG (say the
 * freeze signal, 63), check each tick that sigaction still reports it,
 * and print "got signal SIG count N" when it runs: a freeze must never
 * reach it, a kill -SIG from outside must.
 *
 * The freeze signal interrupts nanosleep (EINTR even with SA_RESTART),
 * so the sleep goes on with what remains.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

struct state {                  /* its own page, so a test can find it */
	uint64_t ticks;
	uint64_t shadow;        /* ~ticks, written after ticks */
};

static volatile sig_atomic_t want_verify, want_exit, got_sig;
static sigset_t set_mask;
static int own_sig, skip_sig;

static void on_own(int sig)
{
	(void)sig;
	got_sig++;
}

static void setup_signals(int block)
{
	if (block) {
		sigfillset(&set_mask);
		sigdelset(&set_mask, SIGUSR1);
		sigdelset(&set_mask, SIGTERM);
		if (sigprocmask(SIG_SETMASK, &set_mask, NULL) < 0)
			perror("sigprocmask"), exit(1);
	} else {
		sigprocmask(SIG_SETMASK, NULL, &set_mask);
	}
	if (own_sig) {
		struct sigaction sa = { .sa_handler = on_own };
		if (sigaction(own_sig, &sa, NULL) < 0)
			perror("sigaction"), exit(1);
	}
}

/* what the program set is what it reads back */
static void check_signals(void)
{
	static int seen;
	sigset_t now;
	struct sigaction sa;

	sigprocmask(SIG_SETMASK, NULL, &now);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != skip_sig &&
		    sigismember(&now, s) != sigismember(&set_mask, s)) {
			printf("FAIL sigmask: signal %d %s\n", s,
			       sigismember(&now, s) ? "blocked" : "not blocked");
			exit(1);
		}
	if (!own_sig)
		return;
	if (sigaction(own_sig, NULL, &sa) < 0 || sa.sa_handler != on_own) {
		printf("FAIL sigaction: signal %d handler is not ours\n", own_sig);
		exit(1);
	}
	if (got_sig != seen) {
		seen = got_sig;
		printf("got signal %d count %d\n", own_sig, seen);
	}
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_verify = 1;
	else
		want_exit = 1;
}

static uint64_t pattern_word(uint64_t i)
{
	uint64_t z = i * 0x9e3779b97f4a7c15ull + 0x636b7074ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fail(const char *what, uint64_t a, uint64_t b)
{
	printf("FAIL %s: %" PRIu64 " != %" PRIu64 "\n", what, a, b);
	exit(1);
}

/* check MiB number mib of the buffer; returns a hash of it */
static uint64_t check_mib(const uint64_t *buf, size_t mib)
{
	size_t n = MIB / 8, first = mib * n;
	uint64_t h = 0;

	for (size_t i = first; i < first + n; i++) {
		if (buf[i] != pattern_word(i)) {
			printf("FAIL memory: word %zu at %p: 0x%" PRIx64
			       " != 0x%" PRIx64 "\n", i, (void *)&buf[i],
			       buf[i], pattern_word(i));
			exit(1);
		}
		h = (h ^ buf[i]) * 0x100000001b3ull;
	}
	return h;
}

static uint64_t check_all(const uint64_t *buf, size_t mibs)
{
	uint64_t h = 0;

	for (size_t m = 0; m < mibs; m++)
		h ^= check_mib(buf, m) + m;
	return h;
}

static void check_counter(const struct state *st)
{
	if (st->shadow != ~st->ticks)
		fail("counter shadow", st->ticks, ~st->shadow);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (want_exit || want_verify)
			return;
}

int main(int argc, char **argv)
{
	size_t mibs = 0;
	long ms = 10, maxticks = -1;
	int c, block = 0, nodump = 0;
	const char *copy = NULL;

	while ((c = getopt(argc, argv, "m:w:i:n:bBs:D")) != -1) {
		switch (c) {
		case 'm': mibs = strtoul(optarg, NULL, 10); break;
		case 'w': copy = optarg; break;
		case 'D': nodump = 1; break;
		case 'i': ms = strtol(optarg, NULL, 10); break;
		case 'n': maxticks = strtol(optarg, NULL, 10); break;
		case 'b': block = 1;
			skip_sig = getenv("CKPT_SIGNAL") ? atoi(getenv("CKPT_SIGNAL")) : 63;
			break;
		case 'B': block = 1; break;
		case 's': own_sig = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: counter [-m MIB] [-w FILE] [-i MS] [-n TICKS] [-b|-B] [-s SIG] [-D]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	setup_signals(block);
	if (nodump && prctl(PR_SET_DUMPABLE, 0) < 0)
		return perror("prctl"), 1;

	struct state *st = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *buf = NULL;
	if (st == MAP_FAILED)
		return perror("mmap"), 1;
	st->shadow = ~(uint64_t)0;
	if (mibs) {
		buf = mmap(NULL, mibs * MIB, PROT_READ | PROT_WRITE,
		           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			return perror("mmap"), 1;
		for (size_t i = 0; i < mibs * MIB / 8; i++)
			buf[i] = pattern_word(i);
	}
	uint64_t sum = check_all(buf, mibs);
	if (copy) {
		FILE *f = fopen(copy, "w");
		if (!f || fwrite(buf, MIB, mibs, f) != mibs || fclose(f) != 0)
			return perror(copy), 1;
	}

	printf("pid %d\n", (int)getpid());
	printf("addr counter %p\n", (void *)st);
	printf("ready counter pid=%d mib=%zu buf=%p sum=0x%" PRIx64 "\n",
	       (int)getpid(), mibs, (void *)buf, sum);

	for (;;) {
		if (want_verify) {
			want_verify = 0;
			check_counter(st);
			uint64_t h = check_all(buf, mibs);
			if (h != sum)
				fail("memory hash", h, sum);
			printf("verify ok ticks=%" PRIu64 " sum=0x%" PRIx64 "\n",
			       st->ticks, h);
		}
		if (want_exit || (maxticks >= 0 && st->ticks >= (uint64_t)maxticks)) {
			check_counter(st);
			uint64_t h = check_all(buf, mibs);
			if (h != sum)
				fail("memory hash", h, sum);
			printf("done ok ticks=%" PRIu64 " sum=0x%" PRIx64 "\n",
			       st->ticks, h);
			return 0;
		}
		check_counter(st);
		check_signals();
		st->ticks++;
		st->shadow = ~st->ticks;
		if (mibs)
			check_mib(buf, st->ticks % mibs);
		printf("tick %" PRIu64 "\n", st->ticks);
		sleep_ms(ms);
	}
}
