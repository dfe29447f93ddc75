/* fdf_pipes - one pipe end opened twice, as two open file descriptions
 * with their own status flags (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_pipes [stdin]
 *
 * A pipe (r, w); r2 = open("/proc/self/fd/R", O_RDONLY|O_NONBLOCK) and
 * w2 = open("/proc/self/fd/W", O_WRONLY|O_NONBLOCK): two more
 * descriptions of the same pipe, non-blocking where r and w block.
 * "queued" is written through w2.  Prints "open NAME FD" for each.
 * Check (SIGUSR1 or SIGTERM, once: it reads the pipe): r and w
 * blocking, r2 and w2 not; kcmp says four descriptions; all on one
 * pipe inode; r reads "queued", then r2 gives EAGAIN; a byte written
 * through w reads back through r2: "pipes fl=r:0,w:0,r2:1,w2:1 apart=1
 * one=1 read=queued eagain=1 cross=1".  A mismatch: "FAIL ...".
 *
 * stdin: its stdin is a pipe from outside; in = open("/dev/stdin")
 * (a second description of it), "open in FD".  Check (once): what in
 * reads within 1 s until its end: "stdin in=BYTES eof=1" (a new pipe
 * that nobody writes would give "eof=0"). */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "prog.h"

enum { R, W, R2, W2, N };
static const char *const names[N] = { "r", "w", "r2", "w2" };
static int fds[N];

static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static int same_desc(int a, int b)
{
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

static int verify(void)
{
	struct stat st, s0;
	char buf[64];
	int i, j, apart = 1, one = 1, eagain, cross;
	ssize_t n;

	printf("pipes fl=");
	for (i = 0; i < N; i++)
		printf("%s%s:%d", i ? "," : "", names[i], !!(fcntl(fds[i], F_GETFL) & O_NONBLOCK));
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			apart &= !same_desc(fds[i], fds[j]);
	fstat(fds[0], &s0);
	for (i = 0; i < N; i++)
		one &= fstat(fds[i], &st) == 0 && st.st_ino == s0.st_ino && S_ISFIFO(st.st_mode);
	n = read(fds[R], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	eagain = read(fds[R2], buf + 32, 1) < 0 && errno == EAGAIN;
	cross = write(fds[W], "x", 1) == 1 && read(fds[R2], buf + 32, 1) == 1 && buf[32] == 'x';
	printf(" apart=%d one=%d read=%s eagain=%d cross=%d\n", apart, one, buf, eagain, cross);
	return 0;
}

static int in = -1, once;

/* in read until its end, each read within 1 s */
static int verify_stdin(void)
{
	struct pollfd pf = { .fd = in, .events = POLLIN };
	char buf[256];
	size_t len = 0;
	ssize_t n = -1;

	if (once++)
		return 0;
	while (len < sizeof buf && poll(&pf, 1, 1000) == 1 &&
	       (n = read(in, buf + len, sizeof buf - len)) > 0)
		len += n;
	printf("stdin in=");
	put_bytes(buf, len);
	printf(" eof=%d\n", n == 0);
	return 0;
}

int main(int argc, char **argv)
{
	int p[2], i;

	if (argc > 1 && !strcmp(argv[1], "stdin")) {
		if ((in = open("/dev/stdin", O_RDONLY)) < 0)
			return printf("FAIL /dev/stdin: %s\n", strerror(errno)), 1;
		printf("open in %d\n", in);
		return serve_verify("fdf_pipes", verify_stdin);
	}
	if (pipe(p) < 0)
		return printf("FAIL pipe: %s\n", strerror(errno)), 1;
	fds[R] = p[0];
	fds[W] = p[1];
	fds[R2] = reopen(p[0], O_RDONLY | O_NONBLOCK);
	fds[W2] = reopen(p[1], O_WRONLY | O_NONBLOCK);
	if (fds[R2] < 0 || fds[W2] < 0 || write(fds[W2], "queued", 6) != 6)
		return printf("FAIL reopen: %s\n", strerror(errno)), 1;
	for (i = 0; i < N; i++)
		printf("open %s %d\n", names[i], fds[i]);
	return serve_verify("fdf_pipes", verify);
}
