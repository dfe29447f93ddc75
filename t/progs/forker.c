/* forker - forks short-lived children in a tight loop.
 *
 * usage: forker [-i US]
 *
 * Each round forks a child that writes its round number to a pipe and
 * exits with it (mod 128); the parent reads the number, reaps the child
 * and checks both.  No pause between rounds (-i: US microseconds).
 * Prints "pid P", "ready forker", then "forks N" every 100 rounds.
 * SIGUSR1: "verify ok forks=N" once it has forked again since the last
 * verify.  SIGTERM: "done ok forks=N", exit 0.  A child that is missing,
 * says another number or exits otherwise: "FAIL round N: ...", exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static int pfd[2];

static void fail(uint64_t round, const char *what, long a)
{
	printf("FAIL round %" PRIu64 ": %s %ld\n", round, what, a);
	exit(1);
}

static void one_round(uint64_t round)
{
	uint64_t got;
	int st;
	ssize_t r;

	pid_t c = fork();
	if (c < 0)
		fail(round, "fork failed, errno", errno);
	if (c == 0) {
		while (write(pfd[1], &round, sizeof round) < 0 && errno == EINTR)
			;
		_exit((int)(round & 127));
	}
	while ((r = read(pfd[0], &got, sizeof got)) < 0 && errno == EINTR)
		;
	if (r != sizeof got || got != round)
		fail(round, r != sizeof got ? "read gave" : "child said", r != sizeof got ? r : (long)got);
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			fail(round, "waitpid failed, errno", errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != (int)(round & 127))
		fail(round, "child status", st);
}

int main(int argc, char **argv)
{
	uint64_t forks = 0, at_verify = 0;
	long us = 0;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "i:")) != -1) {
		if (c != 'i') {
			fprintf(stderr, "usage: forker [-i US]\n");
			return 2;
		}
		us = strtol(optarg, NULL, 10);
	}
	if (pipe(pfd) < 0)
		return perror("pipe"), 1;
	signals_init();
	printf("pid %d\nready forker\n", (int)getpid());
	while (!want_exit) {
		one_round(++forks);
		if (forks % 100 == 0)
			printf("forks %" PRIu64 "\n", forks);
		if (want_verify && forks > at_verify) {
			want_verify = 0;
			at_verify = forks;
			printf("verify ok forks=%" PRIu64 "\n", forks);
		}
		if (us)
			usleep((useconds_t)us);
	}
	printf("done ok forks=%" PRIu64 "\n", forks);
	return 0;
}
