/* fdf_linked - a file unlinked while open whose inode lives on under
 * another name (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_linked near|far DIR
 *
 * DIR/a holds "hello"; a second link: near: DIR/b; far: DIR/sub/b.
 * DIR/a is opened O_RDWR, its offset at the end, and unlinked.
 * Prints "open a FD", "pid N", "ready fdf_linked".  Check (SIGUSR1,
 * SIGTERM): the fd is on the inode of the other name, and a write
 * through it shows there: "linked same=1 reads=hello+"; each check
 * writes one more "+". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prog.h"

static int fd;
static char other[4096];

static int verify(void)
{
	struct stat a, b;
	char buf[64];
	int rd;
	ssize_t n;

	if (write(fd, "+", 1) != 1 || fstat(fd, &a) < 0 || stat(other, &b) < 0 ||
	    (rd = open(other, O_RDONLY)) < 0)
		return printf("FAIL linked: %s\n", strerror(errno)), -1;
	n = read(rd, buf, sizeof buf - 1);
	close(rd);
	buf[n > 0 ? n : 0] = 0;
	printf("linked same=%d reads=%s\n", a.st_dev == b.st_dev && a.st_ino == b.st_ino, buf);
	return 0;
}

int main(int argc, char **argv)
{
	char a[4096];

	if (argc != 3)
		return fprintf(stderr, "usage: fdf_linked near|far DIR\n"), 2;
	snprintf(a, sizeof a, "%s/a", argv[2]);
	if (!strcmp(argv[1], "far")) {
		snprintf(other, sizeof other, "%s/sub", argv[2]);
		mkdir(other, 0755);
	}
	snprintf(other, sizeof other, "%s/%sb", argv[2], strcmp(argv[1], "far") ? "" : "sub/");
	if ((fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0 || write(fd, "hello", 5) != 5 ||
	    link(a, other) < 0 || unlink(a) < 0)
		return printf("FAIL setup: %s\n", strerror(errno)), 1;
	printf("open a %d\n", fd);
	return serve_verify("fdf_linked", verify);
}
