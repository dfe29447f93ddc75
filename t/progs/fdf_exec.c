/* fdf_exec - a deleted executable file and a memfd the program runs
 * with fexecve after the restore (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_exec DIR
 *
 * DIR/prog: a copy of /bin/true, made executable, opened O_RDONLY
 * ("deleted"), its writer closed, unlinked.  memfd "mfd": a copy of
 * /bin/true, reopened O_RDONLY through /proc/self/fd, the O_RDWR fd
 * closed.  Prints "open NAME FD".  Check (SIGUSR1, SIGTERM): a child
 * runs each with fexecve, which fails with ETXTBSY while anyone holds
 * the file open for writing: "exec deleted=0 memfd=0" (the children's
 * exit statuses, or the errno of their fexecve). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "prog.h"

extern char **environ;
static int del, mfd;

/* fexecve fd in a child: its exit status, or the errno of the exec */
static int run(int fd)
{
	char *argv[] = { "true", NULL };
	pid_t c = fork();
	int st;

	if (c == 0) {
		fexecve(fd, argv, environ);
		_exit(100 + errno);
	}
	if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st) >= 100 ? WEXITSTATUS(st) - 100 : WEXITSTATUS(st);
}

static int verify(void)
{
	printf("exec deleted=%d memfd=%d\n", run(del), run(mfd));
	return 0;
}

/* /bin/true copied into fd */
static int copy_true(int fd)
{
	char buf[65536];
	int in = open("/bin/true", O_RDONLY);
	ssize_t n;

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(fd, buf, n) != n)
			return close(in), -1;
	close(in);
	return n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char p[4096];
	int w;

	snprintf(p, sizeof p, "%s/prog", dir_arg(argc, argv, "fdf_exec DIR"));
	if ((w = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755)) < 0 || copy_true(w) < 0 ||
	    close(w) < 0 || (del = open(p, O_RDONLY)) < 0 || unlink(p) < 0)
		return printf("FAIL deleted: %s\n", strerror(errno)), 1;
	if ((w = memfd_create("mfd", 0)) < 0 || copy_true(w) < 0 || fchmod(w, 0755) < 0)
		return printf("FAIL memfd: %s\n", strerror(errno)), 1;
	snprintf(p, sizeof p, "/proc/self/fd/%d", w);
	if ((mfd = open(p, O_RDONLY)) < 0 || close(w) < 0)
		return printf("FAIL memfd reopen: %s\n", strerror(errno)), 1;
	printf("open deleted %d\nopen mfd %d\n", del, mfd);
	return serve_verify("fdf_exec", verify);
}
