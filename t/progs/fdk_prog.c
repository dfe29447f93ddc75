/* fdk_prog - fds of several kinds, and a shared file mapping, that a
 * restore must give back as they were (t/fdkinds.bats, issue 6).
 *
 * usage: fdk_prog dev DIR | flags DIR | map DIR
 *
 * dev:   DIR (O_RDONLY|O_DIRECTORY, after writing DIR/inside holding
 *        "inside-file"), /dev/null (O_RDWR), /dev/zero, /dev/urandom
 *        (O_RDONLY), and /dev/tty (O_RDWR) when it opens ("tty none"
 *        when not).  On SIGUSR1: "dir fd=FD ino=INO entries=N inside=DATA"
 *        (fstat, getdents64 and openat through the fd), "null fd=FD
 *        wrote=N read=N", "zero fd=FD read=N nonzero=N", "urandom fd=FD
 *        read=N nonzero=N", "tty fd=FD ok=1" when there is one.
 * flags: app (DIR/app.log, "line1\n", O_WRONLY|O_APPEND), nb
 *        (DIR/nb.dat, O_RDWR|O_NONBLOCK), ce (DIR/ce.dat, O_RDONLY|
 *        O_CLOEXEC), nce (DIR/nce.dat, O_RDONLY), off1..off4 (DIR/offN.dat,
 *        "0123456789", O_RDONLY at 3, O_RDWR at 7, O_WRONLY at the end,
 *        O_RDONLY at 1000), a pipe (pr, the read end, O_NONBLOCK; pw,
 *        the write end) holding "queued".  On SIGUSR1, for each:
 *        "fl NAME fd=FD fl=0OCT fd_flags=N pos=POS" (F_GETFL without
 *        the kernel's O_LARGEFILE, F_GETFD, lseek; pos=-1 for the pipe), then:
 *        "wrote app pos=POS" (writes "more\n"), "pipe same=1|0
 *        read=BYTES eagain=1|0" (reads what is queued without blocking,
 *        then once more: EAGAIN; same: both ends one inode).
 * map:   DIR/map.dat, 4096 '-', mapped MAP_SHARED PROT_READ|PROT_WRITE,
 *        the fd closed, "MARK-BEFORE" written at 0 through the mapping;
 *        prints "region map ADDR".  On SIGUSR1 (the Nth): "map at0=S
 *        at100=S" (16 bytes at 0 and at 100), then writes "AFTER-N" at
 *        200 through the mapping and says "wrote map AFTER-N".
 *
 * Prints "pid N", "open NAME FD" for each fd, "ready fdk_prog", waits.
 * SIGTERM: the same as SIGUSR1, then "done ok".  An error: "FAIL ...". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define FAIL(...) (printf("FAIL " __VA_ARGS__), printf("\n"), -1)

static int named_open(const char *name, const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return perror(path), -1;
	printf("open %s %d\n", name, fd);
	return fd;
}

static int put_file(const char *dir, const char *name, const char *data, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data) || close(fd) < 0)
		return perror(path), -1;
	return 0;
}

/* ---- dev ---- */

static int dfd, nullfd, zerofd, urfd, ttyfd = -1;

static int dev_setup(const char *dir)
{
	char p[4096];

	if (put_file(dir, "inside", "inside-file", p, sizeof p) < 0)
		return -1;
	if ((dfd = named_open("dir", dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    (nullfd = named_open("null", "/dev/null", O_RDWR)) < 0 ||
	    (zerofd = named_open("zero", "/dev/zero", O_RDONLY)) < 0 ||
	    (urfd = named_open("urandom", "/dev/urandom", O_RDONLY)) < 0)
		return -1;
	ttyfd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (ttyfd < 0)
		printf("tty none\n");
	else
		printf("open tty %d\n", ttyfd);
	return 0;
}

static int count_nonzero(const char *b, ssize_t n)
{
	int k = 0;

	while (n-- > 0)
		k += b[n] != 0;
	return k;
}

static int dev_check(void)
{
	char buf[4096], *p;
	struct stat st;
	long n, entries = 0, seen = 0;
	ssize_t r, w;
	int f;

	/* the directory: fstat, getdents64 from the start, openat */
	if (fstat(dfd, &st) < 0 || !S_ISDIR(st.st_mode))
		return FAIL("dir: fd %d is not a directory", dfd);
	if (lseek(dfd, 0, SEEK_SET) < 0)
		return FAIL("dir: lseek: %s", strerror(errno));
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (p = buf; p < buf + n; p += ((struct dirent64 *)p)->d_reclen) {
			entries++;
			seen |= !strcmp(((struct dirent64 *)p)->d_name, "inside");
		}
	}
	if (n < 0 || !seen)
		return FAIL("dir: getdents64: %s, inside %s", n < 0 ? strerror(errno) : "ok",
			    seen ? "seen" : "not seen");
	f = openat(dfd, "inside", O_RDONLY);
	if (f < 0)
		return FAIL("dir: openat inside: %s", strerror(errno));
	r = read(f, buf, sizeof buf);
	close(f);
	if (r < 0)
		return FAIL("dir: read inside: %s", strerror(errno));
	printf("dir fd=%d ino=%llu entries=%ld inside=", dfd, (unsigned long long)st.st_ino, entries);
	put_bytes(buf, r);
	printf("\n");

	w = write(nullfd, "12345", 5);
	r = read(nullfd, buf, sizeof buf);
	printf("null fd=%d wrote=%zd read=%zd\n", nullfd, w, r);

	memset(buf, 0xff, sizeof buf);
	r = read(zerofd, buf, sizeof buf);
	printf("zero fd=%d read=%zd nonzero=%d\n", zerofd, r, r > 0 ? count_nonzero(buf, r) : -1);

	memset(buf, 0, sizeof buf);
	r = read(urfd, buf, 64);
	printf("urandom fd=%d read=%zd nonzero=%d\n", urfd, r, r > 0 ? count_nonzero(buf, r) : -1);

	if (ttyfd >= 0) {
		if (fstat(ttyfd, &st) < 0 || !S_ISCHR(st.st_mode) || !isatty(ttyfd))
			return FAIL("tty: fd %d is not a tty", ttyfd);
		printf("tty fd=%d ok=1\n", ttyfd);
	}
	return 0;
}

/* ---- flags ---- */

/* glibc's O_LARGEFILE is 0 on x86_64; the kernel's flag shows in F_GETFL */
#define KERNEL_O_LARGEFILE 0100000
#define NFL 10
static const char *fl_name[NFL] = {"app", "nb", "ce", "nce", "off1", "off2", "off3", "off4", "pr", "pw"};
static int fl_fd[NFL];

static int flags_setup(const char *dir)
{
	static const struct { const char *file, *data; int flags; const char *pos; } f[8] = {
		{"app.log", "line1\n", O_WRONLY | O_APPEND, "0"},
		{"nb.dat", "nonblocking", O_RDWR | O_NONBLOCK, "2"},
		{"ce.dat", "cloexec", O_RDONLY | O_CLOEXEC, "1"},
		{"nce.dat", "no-cloexec", O_RDONLY, "4"},
		{"off1.dat", "0123456789", O_RDONLY, "3"},
		{"off2.dat", "0123456789", O_RDWR, "7"},
		{"off3.dat", "0123456789", O_WRONLY, "end"},
		{"off4.dat", "0123456789", O_RDONLY, "1000"},
	};
	char p[4096];
	int i, pfd[2];

	for (i = 0; i < 8; i++) {
		if (put_file(dir, f[i].file, f[i].data, p, sizeof p) < 0)
			return -1;
		if ((fl_fd[i] = named_open(fl_name[i], p, f[i].flags)) < 0)
			return -1;
		if ((strcmp(f[i].pos, "end") ? lseek(fl_fd[i], atoll(f[i].pos), SEEK_SET)
					     : lseek(fl_fd[i], 0, SEEK_END)) < 0)
			return perror(p), -1;
	}
	if (pipe(pfd) < 0 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0 || write(pfd[1], "queued", 6) != 6)
		return perror("pipe"), -1;
	fl_fd[8] = pfd[0];
	fl_fd[9] = pfd[1];
	printf("open pr %d\nopen pw %d\n", pfd[0], pfd[1]);
	return 0;
}

static int flags_check(void)
{
	struct stat a, b;
	char buf[256];
	ssize_t n, got = 0;
	int i, fl, fdf, eagain;

	for (i = 0; i < NFL; i++) {
		fl = fcntl(fl_fd[i], F_GETFL);
		fdf = fcntl(fl_fd[i], F_GETFD);
		if (fl < 0 || fdf < 0)
			return FAIL("%s: fcntl fd %d: %s", fl_name[i], fl_fd[i], strerror(errno));
		printf("fl %s fd=%d fl=0%o fd_flags=%d pos=%lld\n", fl_name[i], fl_fd[i],
		       fl & ~KERNEL_O_LARGEFILE, fdf, i < 8 ? (long long)lseek(fl_fd[i], 0, SEEK_CUR) : -1LL);
	}
	if (write(fl_fd[0], "more\n", 5) != 5)
		return FAIL("app: write: %s", strerror(errno));
	printf("wrote app pos=%lld\n", (long long)lseek(fl_fd[0], 0, SEEK_CUR));
	while ((n = read(fl_fd[8], buf + got, sizeof buf - got)) > 0)
		got += n;
	eagain = n < 0 && errno == EAGAIN;
	if (fstat(fl_fd[8], &a) < 0 || fstat(fl_fd[9], &b) < 0)
		return FAIL("pipe: fstat: %s", strerror(errno));
	printf("pipe same=%d read=", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	put_bytes(buf, got);
	printf(" eagain=%d\n", eagain);
	return 0;
}

/* ---- map ---- */

static char *map;
static int nmap;

static int map_setup(const char *dir)
{
	char p[4096], fill[4097];
	int fd;

	memset(fill, '-', 4096);
	fill[4096] = 0;
	if (put_file(dir, "map.dat", fill, p, sizeof p) < 0)
		return -1;
	fd = open(p, O_RDWR);
	if (fd < 0)
		return perror(p), -1;
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return perror("mmap"), -1;
	close(fd);
	memcpy(map, "MARK-BEFORE", 11);
	printf("region map %p 1\n", (void *)map);
	return 0;
}

static int map_check(void)
{
	char mark[32];

	printf("map at0=");
	put_bytes(map, 16);
	printf(" at100=");
	put_bytes(map + 100, 16);
	printf("\n");
	snprintf(mark, sizeof mark, "AFTER-%d", ++nmap);
	memcpy(map + 200, mark, strlen(mark));
	printf("wrote map %s\n", mark);
	return 0;
}

int main(int argc, char **argv)
{
	int (*check)(void);
	int rc;

	if (argc != 3)
		return fprintf(stderr, "usage: fdk_prog dev|flags|map DIR\n"), 2;
	if (!strcmp(argv[1], "dev"))
		rc = dev_setup(argv[2]), check = dev_check;
	else if (!strcmp(argv[1], "flags"))
		rc = flags_setup(argv[2]), check = flags_check;
	else if (!strcmp(argv[1], "map"))
		rc = map_setup(argv[2]), check = map_check;
	else
		return fprintf(stderr, "fdk_prog: unknown case %s\n", argv[1]), 2;
	if (rc < 0)
		return 1;
	printf("pid %d\nready fdk_prog\n", (int)getpid());
	fflush(stdout);
	signals_init();
	for (;;) {
		wait_request();
		if (check() < 0) {
			fflush(stdout);
			return 1;
		}
		if (verified())
			return 0;
	}
}
