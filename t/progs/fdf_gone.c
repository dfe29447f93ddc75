/* fdf_gone - fds whose names are gone: a FIFO and a device node
 * unlinked after their opens, a directory removed (t/fidelity-fds.bats,
 * issue 17).
 *
 * usage: fdf_gone fifo|dev|dir DIR
 *
 * fifo: mkfifo DIR/fifo; r = open O_RDONLY|O_NONBLOCK, w = open
 *       O_WRONLY; "queued" written; unlinked.  Check: both still FIFOs
 *       on one inode, r non-blocking, r reads "queued" then EAGAIN, a
 *       byte through w comes out of r: "fifo one=1 nb=1 read=queued
 *       eagain=1 cross=1".
 * dev:  mknod DIR/null c 1 3 (root), opened O_RDWR, unlinked.  Check:
 *       still the character device 1:3, a write takes 5 bytes, a read
 *       gives 0: "dev rdev=1:3 wrote=5 read=0".
 * dir:  mkdir DIR/gone, opened O_DIRECTORY, removed.  Check: still a
 *       directory with no link: "dir nlink=0 isdir=1".
 * Prints "open NAME FD", "pid N", "ready fdf_gone". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "prog.h"

static const char *mode;
static int r = -1, w = -1;

static int fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	return -1;
}

static int verify(void)
{
	struct stat a, b;
	char buf[64];
	ssize_t n;

	if (fstat(r, &a) < 0)
		return fail("fstat");
	if (!strcmp(mode, "fifo")) {
		if (fstat(w, &b) < 0)
			return fail("fstat w");
		n = read(r, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		printf("fifo one=%d nb=%d read=%s", S_ISFIFO(a.st_mode) && S_ISFIFO(b.st_mode) &&
		       a.st_ino == b.st_ino, !!(fcntl(r, F_GETFL) & O_NONBLOCK), buf);
		printf(" eagain=%d", read(r, buf, 1) < 0 && errno == EAGAIN);
		printf(" cross=%d\n", write(w, "x", 1) == 1 && read(r, buf, 1) == 1 && buf[0] == 'x');
	} else if (!strcmp(mode, "dev")) {
		printf("dev rdev=%u:%u wrote=%zd read=%zd\n", major(a.st_rdev), minor(a.st_rdev),
		       write(r, "hello", 5), read(r, buf, sizeof buf));
	} else {
		printf("dir nlink=%u isdir=%d\n", (unsigned)a.st_nlink, S_ISDIR(a.st_mode));
	}
	return 0;
}

int main(int argc, char **argv)
{
	char p[4096];

	if (argc != 3)
		return fprintf(stderr, "usage: fdf_gone fifo|dev|dir DIR\n"), 2;
	mode = argv[1];
	if (!strcmp(mode, "fifo")) {
		snprintf(p, sizeof p, "%s/fifo", argv[2]);
		if (mkfifo(p, 0600) < 0 || (r = open(p, O_RDONLY | O_NONBLOCK)) < 0 ||
		    (w = open(p, O_WRONLY)) < 0 || write(w, "queued", 6) != 6)
			return fail("fifo"), 1;
	} else if (!strcmp(mode, "dev")) {
		snprintf(p, sizeof p, "%s/null", argv[2]);
		if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) < 0 || (r = open(p, O_RDWR)) < 0)
			return fail("mknod"), 1;
	} else {
		snprintf(p, sizeof p, "%s/gone", argv[2]);
		if (mkdir(p, 0755) < 0 || (r = open(p, O_RDONLY | O_DIRECTORY)) < 0 || rmdir(p) < 0)
			return fail("dir"), 1;
	}
	if (strcmp(mode, "dir") && unlink(p) < 0)
		return fail("unlink"), 1;
	printf("open r %d\nopen w %d\n", r, w);
	return serve_verify("fdf_gone", verify);
}
