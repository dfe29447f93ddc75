/* fds_policy - one open fd for each case of ckpt-dumpfds's policy
 * (formats/fds.md), with its files in directory DIR.
 *
 * usage: fds_policy DIR
 *
 * Prints "pid N", "fd NAME N" for each fd it made, "ready fds_policy",
 * then waits.  SIGUSR1: check that every fd is still at its offset with
 * its bytes (the pipe's are read and put back), print "verify ok" and
 * go on.  SIGTERM: the same, then "done ok" and exit 0.  Any mismatch:
 * "FAIL ..." and exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "prog.h"

static const char *dir;
static int fail;

static int xopen(const char *name, int flags, const char *content)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (content) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, content, strlen(content)) < 0)
			perror(path), exit(1);
		close(fd);
	}
	fd = open(path, flags, 0644);
	if (fd < 0)
		perror(path), exit(1);
	return fd;
}

static void check_pos(const char *what, int fd, off_t want)
{
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos != want) {
		printf("FAIL %s: fd %d at %lld, want %lld\n", what, fd, (long long)pos, (long long)want);
		fail = 1;
	}
}

static void check_bytes(const char *what, int fd, off_t off, const char *want)
{
	char buf[256] = "";
	ssize_t n = pread(fd, buf, sizeof buf - 1, off);

	if (n < 0 || strncmp(buf, want, strlen(want))) {
		printf("FAIL %s: fd %d holds \"%s\", want \"%s\"\n", what, fd, buf, want);
		fail = 1;
	}
}

static void check_pipe(const int p[2])
{
	char buf[32] = "";

	if (read(p[0], buf, 11) != 11 || strcmp(buf, "in the pipe")) {
		printf("FAIL pipe: read \"%s\"\n", buf);
		fail = 1;
	}
	if (write(p[1], buf, 11) != 11)
		printf("FAIL pipe: put back: %s\n", strerror(errno)), fail = 1;
}

static void verify(int ro, int db, int dbdup, int wo, int del, int mfd, const int p[2])
{
	check_pos("ro", ro, 5);
	check_pos("db", db, 3);
	check_pos("db dup", dbdup, 3);
	check_pos("wronly", wo, 6);
	check_pos("deleted", del, 8);
	check_bytes("ro", ro, 0, "read only");
	check_bytes("db", db, 0, "0123456789database");
	check_bytes("deleted", del, 0, "deleted but open");
	check_bytes("memfd", mfd, 0, "memfd bytes");
	check_pipe(p);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int ro, logf, logw, db, db2, dbdup, wo, del, mfd, p[2], sp[2], ev, ep, tfd, dfd, nul, fifo, space, linked;
	char other[4096];
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0xfeed };
	struct itimerspec its = { { 5, 0 }, { 100, 0 } };
	char gone[4096];

	if (argc != 2)
		return fprintf(stderr, "usage: fds_policy DIR\n"), 2;
	dir = argv[1];
	ro = xopen("ro.txt", O_RDONLY, "read only\n");        /* a */
	lseek(ro, 5, SEEK_SET);
	logf = xopen("append.log", O_WRONLY | O_APPEND, "line 1\n"); /* b */
	logw = xopen("end.log", O_RDWR, "at the end\n");       /* b */
	lseek(logw, 0, SEEK_END);
	db = xopen("db.dat", O_RDWR, "0123456789database");    /* c */
	lseek(db, 3, SEEK_SET);
	db2 = xopen("db.dat", O_RDONLY, NULL);                 /* same inode */
	dbdup = dup(db);                                       /* same description */
	{	/* one lock of each class */
		struct flock rec = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };
		struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 3 };

		if (flock(db, LOCK_EX) < 0 || fcntl(logw, F_SETLK, &rec) < 0 ||
		    fcntl(ro, F_OFD_SETLK, &ofd) < 0)
			perror("lock"), exit(1);
	}
	wo = xopen("wronly.dat", O_WRONLY, "write only data"); /* c, not readable */
	lseek(wo, 6, SEEK_SET);
	del = xopen("gone.dat", O_RDWR, "deleted but open");   /* deleted */
	lseek(del, 8, SEEK_SET);
	snprintf(gone, sizeof gone, "%s/gone.dat", dir);
	unlink(gone);
	/* unlinked, but alive under another name: its old path is gone */
	linked = xopen("linked.dat", O_RDONLY, "linked bytes");
	snprintf(gone, sizeof gone, "%s/linked.dat", dir);
	snprintf(other, sizeof other, "%s/other.dat", dir);
	if (link(gone, other) < 0 || unlink(gone) < 0)
		perror(other), exit(1);
	mfd = memfd_create("fds policy", MFD_ALLOW_SEALING);
	if (mfd < 0 || write(mfd, "memfd bytes", 11) != 11 || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		perror("memfd"), exit(1);
	if (pipe(p) < 0 || write(p[1], "in the pipe", 11) != 11)
		perror("pipe"), exit(1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		perror("socketpair"), exit(1);
	ev = eventfd(7, EFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	timerfd_settime(tfd, 0, &its, NULL);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	nul = open("/dev/null", O_RDWR);
	snprintf(gone, sizeof gone, "%s/a fifo", dir);
	/* O_RDWR: a fifo opened so never blocks */
	if (mkfifo(gone, 0600) < 0 || (fifo = open(gone, O_RDWR)) < 0 ||
	    write(fifo, "fifo bytes", 10) != 10)
		perror(gone), exit(1);
	space = xopen("sp ace\\.txt", O_RDONLY, "spaced");
	printf("pid %d\n", (int)getpid());
	printf("fd ro %d\nfd append %d\nfd end %d\nfd db %d\nfd db2 %d\nfd dbdup %d\n"
	       "fd wronly %d\nfd deleted %d\nfd memfd %d\nfd pipe_r %d\nfd pipe_w %d\n"
	       "fd sock0 %d\nfd sock1 %d\nfd eventfd %d\nfd epoll %d\nfd timerfd %d\n"
	       "fd dir %d\nfd null %d\nfd fifo %d\nfd space %d\nfd linked %d\n",
	       ro, logf, logw, db, db2, dbdup, wo, del, mfd, p[0], p[1], sp[0], sp[1],
	       ev, ep, tfd, dfd, nul, fifo, space, linked);
	printf("ready fds_policy\n");
	fflush(stdout);
	signals_init();
	for (;;) {
		wait_request();
		verify(ro, db, dbdup, wo, del, mfd, p);
		if (fail)
			return 1;
		if (verified())
			return 0;
	}
}
