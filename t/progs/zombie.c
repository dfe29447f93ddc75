/* zombie - a parent with a child that has exited and is not reaped
 * until the parent is told.
 *
 * usage: zombie STATUS | zombie sigSIG
 *
 * Forks a child that exits at once with STATUS (0..255), or kills
 * itself with signal SIG.  The parent waits for the exit without
 * reaping (waitid WNOWAIT), prints "child C", "pid P", "ready zombie",
 * and then reaps nothing until SIGUSR1: it reaps C (WNOHANG:
 * the child must already be a zombie), prints "reaped C exit=STATUS"
 * (or "signal=SIG") and "verify ok"; a later SIGUSR1 checks that the
 * parent has no child left (ECHILD).  SIGTERM: the same check, "done
 * ok", exit 0.  A child that is not there, not exited, or exited with
 * another status: "FAIL ...", exit 1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static pid_t child;
static int want_status;         /* the wait status the child must give */
static int reaped;

static void say_status(int st)
{
	if (WIFEXITED(st))
		printf("exit=%d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("signal=%d", WTERMSIG(st));
	else
		printf("status=0x%x", st);
}

static int verify(void)
{
	int st;
	pid_t p;

	if (reaped) {
		p = waitpid(-1, &st, WNOHANG);
		if (p < 0 && errno == ECHILD)
			return 0;
		return printf("FAIL waitpid(-1) after the reap: %d (%s)\n", (int)p,
			      p < 0 ? strerror(errno) : "a child"), -1;
	}
	p = waitpid(child, &st, WNOHANG);
	if (p != child)
		return printf("FAIL reap %d: waitpid %d (%s)\n", (int)child, (int)p,
			      p < 0 ? strerror(errno) : "not exited"), -1;
	reaped = 1;
	printf("reaped %d ", (int)child);
	say_status(st);
	printf("\n");
	if (st != want_status) {
		printf("FAIL child %d: wait status 0x%x, want 0x%x\n", (int)child, st, want_status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	siginfo_t si;
	int sig = 0, code = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 || (strncmp(argv[1], "sig", 3) == 0 ? (sig = atoi(argv[1] + 3)) <= 0
	                                                   : (code = atoi(argv[1])) < 0 || code > 255)) {
		fprintf(stderr, "usage: zombie STATUS | zombie sigSIG\n");
		return 2;
	}
	want_status = sig ? sig : code << 8;
	child = fork();
	if (child < 0)
		return perror("fork"), 1;
	if (child == 0) {
		if (sig) {
			signal(sig, SIG_DFL);
			kill(getpid(), sig);
		}
		_exit(code);
	}
	while (waitid(P_PID, child, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return perror("waitid"), 1;
	printf("child %d\n", (int)child);
	fflush(stdout);
	return serve_verify("zombie", verify);
}
