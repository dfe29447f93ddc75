/* manyproc - a job of N processes, each counting, all reporting to
 * the first one through one pipe.
 *
 * usage: manyproc [-t] [-m MIB] [-i MS] [-r] N
 *
 * Process 0 (the one started) makes N-1 more: all its own children, or
 * with -t a binary tree (process i's parent is process (i-1)/2).  Every
 * process but 0 writes "i tick" records (8 bytes, atomic in a pipe) to
 * the shared pipe every MS ms (default 100) and checks its own counter
 * against a shadow copy.  -m: every process, 0 too, holds MIB MiB of
 * memory of its own pattern, checks a page of it at each tick (0: all
 * at each verify), all of it before it exits.  -r: process 0 prints
 * "round R" each time every other process has ticked since the last
 * round (after a restore, the first round says the whole job runs).  Process 0 reads them and checks that each process's
 * ticks come one by one: none lost, none twice.  When every process has
 * ticked it prints "pid P" and "ready manyproc n=N".  SIGUSR1: wait (20
 * s at most) until every process has ticked again, print "verify ok
 * procs=N ticks=T" (T the sum of all ticks).  SIGTERM: each process
 * passes it on to its children and reaps them; "done ok procs=N" when
 * all exited 0.  A lost or repeated tick, a process that stops, or a
 * child that fails: "FAIL ...", exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define MAXN 4096
#define MIB (1024 * 1024)

struct rec {
	uint32_t idx, tick;
};

static int n, tree, rounds, pfd[2];
static long tick_ms = 100;
static size_t mibs;
static uint64_t *mem;
static pid_t kids[MAXN];
static int nkids;
static uint32_t last[MAXN];

static uint64_t mem_word(int i, size_t k)
{
	uint64_t z = (k + ((uint64_t)i << 40)) * 0x9e3779b97f4a7c15ull;

	return z ^ (z >> 31);
}

/* process i's memory: MIB MiB, present, of its own pattern */
static void mem_fill(int i)
{
	if (!mibs)
		return;
	mem = malloc(mibs * MIB);
	if (!mem) {
		printf("FAIL process %d: no memory\n", i);
		exit(1);
	}
	for (size_t k = 0; k < mibs * MIB / 8; k++)
		mem[k] = mem_word(i, k);
}

/* check page number pg of process i's memory (pg < 0: all of it) */
static void mem_check(int i, long pg)
{
	if (!mibs)
		return;
	size_t k = pg < 0 ? 0 : (size_t)(pg % (long)(mibs * 256)) * 512;
	size_t end = pg < 0 ? mibs * MIB / 8 : k + 512;

	for (; k < end; k++)
		if (mem[k] != mem_word(i, k)) {
			printf("FAIL process %d: word %zu at %p is 0x%" PRIx64 ", want 0x%" PRIx64 "\n",
			       i, k, (void *)&mem[k], mem[k], mem_word(i, k));
			exit(1);
		}
}

/* pass SIGTERM to the children, reap them: 0 when all exited 0 */
static int reap_kids(void)
{
	int st, bad = 0;

	for (int k = 0; k < nkids; k++)
		kill(kids[k], SIGTERM);
	for (int k = 0; k < nkids; k++) {
		while (waitpid(kids[k], &st, 0) < 0)
			if (errno != EINTR)
				return perror("waitpid"), -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("FAIL process %d: child %d status 0x%x\n", (int)getpid(),
			       (int)kids[k], st);
			bad = -1;
		}
	}
	return bad;
}

static void spawn(int i);

/* process i (not 0): its children, then a tick every 100 ms */
static void run(int i)
{
	volatile uint32_t ticks = 0, shadow = ~0u;

	close(pfd[0]);
	free(mem);
	mem_fill(i);
	nkids = 0;
	if (tree) {
		spawn(2 * i + 1);
		spawn(2 * i + 2);
	}
	nap_ms(i % tick_ms);    /* spread the ticks over the interval */
	while (!want_exit) {
		if (shadow != ~ticks) {
			printf("FAIL process %d: tick %u, shadow %u\n", i, ticks, ~shadow);
			exit(1);
		}
		mem_check(i, (long)ticks);
		struct rec r = { (uint32_t)i, ++ticks };
		shadow = ~ticks;
		/* a full pipe (process 0 stopped reading) gives way to SIGTERM */
		while (write(pfd[1], &r, sizeof r) < 0 && !want_exit)
			if (errno != EINTR)
				exit(1);
		nap_ms(tick_ms);
	}
	mem_check(i, -1);
	exit(reap_kids() < 0);
}

static void spawn(int i)
{
	if (i >= n)
		return;
	pid_t p = fork();
	if (p < 0) {
		printf("FAIL fork for process %d: %s\n", i, strerror(errno));
		exit(1);
	}
	if (p == 0)
		run(i);
	kids[nkids++] = p;
}

/* read what came: 0, or -1 after a FAIL line */
static int drain(int ms)
{
	struct pollfd pf = { pfd[0], POLLIN, 0 };
	struct rec r;

	while (poll(&pf, 1, ms) > 0) {
		ms = 0;
		if (read(pfd[0], &r, sizeof r) != sizeof r)
			return printf("FAIL read: a short record\n"), -1;
		if (r.idx == 0 || r.idx >= (uint32_t)n || r.tick != last[r.idx] + 1)
			return printf("FAIL process %u: tick %u after %u\n", r.idx, r.tick,
				      r.idx < (uint32_t)n ? last[r.idx] : 0), -1;
		last[r.idx] = r.tick;
	}
	return 0;
}

/* the first process with no tick past since[], or 0 when none */
static int behind(const uint32_t *since)
{
	for (int i = 1; i < n; i++)
		if (last[i] <= since[i])
			return i;
	return 0;
}

/* until every process has a tick past since[] (20 s): 0, or -1 */
static int all_past(const uint32_t *since)
{
	struct timespec t0, t;
	int b = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (drain(50) < 0)
			return -1;
		if (!(b = behind(since)))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 20);
	return printf("FAIL process %d stays at tick %u\n", b, last[b]), -1;
}

/* -r: "round R" when every process has ticked since the last one */
static void round_check(uint32_t *at)
{
	static uint64_t round;

	if (rounds && !behind(at)) {
		printf("round %" PRIu64 "\n", ++round);
		memcpy(at, last, sizeof last);
	}
}

int main(int argc, char **argv)
{
	static uint32_t zero[MAXN], since[MAXN], at_round[MAXN];
	int c, bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "tm:i:r")) != -1) {
		switch (c) {
		case 't': tree = 1; break;
		case 'm': mibs = strtoul(optarg, NULL, 10); break;
		case 'i': tick_ms = strtol(optarg, NULL, 10); break;
		case 'r': rounds = 1; break;
		default: bad = 1;
		}
	}
	if (bad || tick_ms < 1 || optind != argc - 1 || (n = atoi(argv[optind])) < 1 || n > MAXN) {
		fprintf(stderr, "usage: manyproc [-t] [-m MIB] [-i MS] [-r] N (N <= %d)\n", MAXN);
		return 2;
	}
	mem_fill(0);
	signals_init();
	if (pipe(pfd) < 0)
		return perror("pipe"), 1;
	if (tree) {
		spawn(1);
		spawn(2);
	} else {
		for (int i = 1; i < n; i++)
			spawn(i);
	}
	close(pfd[1]);
	if (all_past(zero) < 0)
		return 1;
	printf("pid %d\nready manyproc n=%d\n", (int)getpid(), n);
	while (!want_exit) {
		if (drain(100) < 0)
			return 1;
		round_check(at_round);
		if (!want_verify)
			continue;
		want_verify = 0;
		uint64_t sum = 0;
		memcpy(since, last, sizeof last);
		if (all_past(since) < 0)
			return 1;
		for (int i = 1; i < n; i++)
			sum += last[i];
		mem_check(0, -1);
		printf("verify ok procs=%d ticks=%" PRIu64 "\n", n, sum);
	}
	mem_check(0, -1);
	if (reap_kids() < 0)
		return 1;
	printf("done ok procs=%d\n", n);
	return 0;
}
