/* fdf_sparse - saved files with holes (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_sparse DIR
 *
 * deleted: DIR/sparse with "A" at 0 and "B" at 1 MiB + 8 KiB (a hole
 * between), opened O_RDWR, unlinked; memfd: the same in a memfd.
 * Each remembers where its first hole and its next data are
 * (SEEK_HOLE, SEEK_DATA) and its blocks.  Prints "open NAME FD".
 * Check (SIGUSR1, SIGTERM): for each, the same hole and data offsets,
 * no more blocks than before, the two bytes in place: "sparse NAME
 * same=1 bytes=AB". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "prog.h"

#define FAR ((1 << 20) + 8192)

static const char *const names[2] = { "deleted", "memfd" };
static int fds[2];
static off_t hole[2], data[2];
static blkcnt_t blocks[2];

static int measure(int fd, off_t *h, off_t *d, blkcnt_t *b)
{
	struct stat st;

	*h = lseek(fd, 0, SEEK_HOLE);
	*d = lseek(fd, *h, SEEK_DATA);
	if (*h < 0 || *d < 0 || fstat(fd, &st) < 0)
		return -1;
	*b = st.st_blocks;
	return 0;
}

static int verify(void)
{
	char a = 0, b = 0;
	off_t h, d;
	blkcnt_t n;
	int i;

	for (i = 0; i < 2; i++) {
		if (measure(fds[i], &h, &d, &n) < 0 || pread(fds[i], &a, 1, 0) != 1 ||
		    pread(fds[i], &b, 1, FAR) != 1)
			return printf("FAIL %s: %s\n", names[i], strerror(errno)), -1;
		printf("sparse %s same=%d bytes=%c%c\n", names[i],
		       h == hole[i] && d == data[i] && n <= blocks[i], a, b);
		if (!(h == hole[i] && d == data[i] && n <= blocks[i]))
			printf("sparse %s hole=%lld/%lld data=%lld/%lld blocks=%lld/%lld\n", names[i],
			       (long long)h, (long long)hole[i], (long long)d, (long long)data[i],
			       (long long)n, (long long)blocks[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char p[4096];
	int i;

	snprintf(p, sizeof p, "%s/sparse", dir_arg(argc, argv, "fdf_sparse DIR"));
	fds[0] = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fds[1] = memfd_create("sparse", 0);
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0 || pwrite(fds[i], "A", 1, 0) != 1 || pwrite(fds[i], "B", 1, FAR) != 1 ||
		    fsync(fds[i]) < 0 || measure(fds[i], &hole[i], &data[i], &blocks[i]) < 0)
			return printf("FAIL %s: %s\n", names[i], strerror(errno)), 1;
		printf("open %s %d\n", names[i], fds[i]);
	}
	if (unlink(p) < 0)
		return printf("FAIL unlink: %s\n", strerror(errno)), 1;
	return serve_verify("fdf_sparse", verify);
}
