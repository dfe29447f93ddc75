/* fdf_pipeleft - pipes whose other end was closed by a child that has
 * exited but is not reaped yet (a command substitution's writer, a
 * reader gone), checkpointed and restored (t/fidelity-fds.bats).
 *
 * usage: fdf_pipeleft
 *
 * Child A writes "hello" into pipe a and exits 3; child B closes the
 * read end of pipe b and exits 4; both stay zombies, unreaped.  The
 * parent holds a's read end (fd 3) and b's write end (fd 6), prints "pid N" and
 * "ready fdf_pipeleft", and waits.  Check (SIGUSR1 or SIGTERM, once):
 * a reads "hello", then EOF (no writer is left anywhere); a write to b
 * fails with EPIPE (no reader); A and B are reaped with 3 and 4:
 * "pipes read=hello eof=1 epipe=1 status=3,4".  A mismatch (a read that
 * would block: "eof=0") is a FAIL line. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "prog.h"

static int a[2], b[2];
static pid_t ca, cb;

static pid_t child(int code)
{
	pid_t c = fork();

	if (c < 0) {
		perror("fork");
		exit(1);
	}
	if (c)
		return c;
	if (code == 3)
		write(a[1], "hello", 5);
	_exit(code);
}

static int check(void)
{
	char buf[16] = "";
	struct pollfd p = { a[0], POLLIN, 0 };
	ssize_t n, got = 0;
	int eof = 0, epipe, sa = 0, sb = 0;

	/* no wait beyond 1 s: a writer kept open somewhere would hang */
	while (poll(&p, 1, 1000) == 1 && (n = read(a[0], buf + got, sizeof buf - 1 - got)) >= 0) {
		if (n == 0) {
			eof = 1;
			break;
		}
		got += n;
	}
	epipe = write(b[1], "x", 1) < 0 && errno == EPIPE;
	waitpid(ca, &sa, 0);
	waitpid(cb, &sb, 0);
	printf("pipes read=%s eof=%d epipe=%d status=%d,%d\n", buf, eof, epipe,
	       WEXITSTATUS(sa), WEXITSTATUS(sb));
	if (strcmp(buf, "hello") || !eof || !epipe || WEXITSTATUS(sa) != 3 ||
	    WEXITSTATUS(sb) != 4) {
		printf("FAIL pipes: want read=hello eof=1 epipe=1 status=3,4\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	siginfo_t si;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(a) < 0 || pipe(b) < 0)
		return perror("pipe"), 1;
	ca = child(3);
	close(a[1]);
	close(b[0]);
	cb = child(4);
	/* both exited, not reaped (WNOWAIT) */
	waitid(P_PID, ca, &si, WEXITED | WNOWAIT);
	waitid(P_PID, cb, &si, WEXITED | WNOWAIT);
	return serve_verify("fdf_pipeleft", check);
}
