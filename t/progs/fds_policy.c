/* fds_policy - one open fd for each case of ckpt-dumpfds's policy
 * (formats/fds.md), in directory DIR.  Prints "ready" and the fd
 * numbers, then waits until DIR/go exists, checks that every fd still
 * is what it was, prints "ok" and exits 0 (or "FAIL ..." and 1).
 * usage: fds_policy DIR */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	int ro, logf, logw, db, db2, dbdup, wo, del, mfd, p[2], sp[2], ev, ep, tfd, dfd, nul;
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0xfeed };
	struct itimerspec its = { { 5, 0 }, { 100, 0 } };
	char go[4096];

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
	wo = xopen("wronly.dat", O_WRONLY, "write only data"); /* c, not readable */
	lseek(wo, 6, SEEK_SET);
	del = xopen("gone.dat", O_RDWR, "deleted but open");   /* deleted */
	lseek(del, 8, SEEK_SET);
	snprintf(go, sizeof go, "%s/gone.dat", dir);
	unlink(go);
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
	printf("ready ro=%d append=%d end=%d db=%d db2=%d dbdup=%d wronly=%d deleted=%d memfd=%d pipe=%d,%d sock=%d,%d eventfd=%d epoll=%d timerfd=%d dir=%d null=%d\n",
	       ro, logf, logw, db, db2, dbdup, wo, del, mfd, p[0], p[1], sp[0], sp[1], ev, ep, tfd, dfd, nul);
	fflush(stdout);
	snprintf(go, sizeof go, "%s/go", dir);
	while (access(go, F_OK) < 0)
		usleep(20000);
	check_pos("ro", ro, 5);
	check_pos("db", db, 3);
	check_pos("db dup", dbdup, 3);
	check_pos("wronly", wo, 6);
	check_pos("deleted", del, 8);
	check_bytes("db", db, 0, "0123456789database");
	check_bytes("deleted", del, 0, "deleted but open");
	check_bytes("memfd", mfd, 0, "memfd bytes");
	{
		char buf[32] = "";
		if (read(p[0], buf, 11) != 11 || strcmp(buf, "in the pipe"))
			printf("FAIL pipe: read \"%s\"\n", buf), fail = 1;
	}
	printf(fail ? "FAIL\n" : "ok\n");
	return fail;
}
