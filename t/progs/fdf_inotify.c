/* fdf_inotify - inotify watches (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_inotify files|pipe|fanotify DIR
 *
 * files: an inotify fd (IN_NONBLOCK) watching DIR/f (IN_MODIFY, wd 1),
 *        DIR/sub (IN_CREATE, wd 2), DIR/x (added, then removed: wd 3
 *        spent) and DIR/g (IN_OPEN, wd 4); the IN_IGNORED of wd 3 is
 *        read off.  Check: DIR/f written, DIR/sub/new made, DIR/g
 *        opened: the events are "1:0x2,2:0x100:new,4:0x20" (wd, mask,
 *        name), nothing else; a new watch (DIR/h) gets wd 5; the fd
 *        is non-blocking: "inotify events=... next=5 nb=1".
 * pipe:  an inotify fd watching DIR/f and the inode of a pipe of its
 *        own (/proc/self/fd/N), which has no path: refused at the
 *        checkpoint.  Check: as files, without the watches after f.
 * fanotify: as pipe, without the pipe, and a fanotify fd marking DIR
 *        (root): refused at the checkpoint.
 * Prints "open NAME FD", "pid N", "ready fdf_inotify". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "prog.h"

static int ifd, once;
static const char *dir;

static int watch(const char *name, uint32_t mask)
{
	char p[4096];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return inotify_add_watch(ifd, p, mask);
}

static void touch(const char *name, int flags)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if ((fd = open(p, flags, 0644)) >= 0) {
		if (flags & O_WRONLY)
			(void)!write(fd, "x", 1);
		close(fd);
	}
}

/* the events queued, "WD:MASK[:NAME]" joined by commas */
static void events(char *out, size_t cap)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *ev;
	size_t len = 0;
	ssize_t n, off;

	out[0] = 0;
	while ((n = read(ifd, buf, sizeof buf)) > 0)
		for (off = 0; off < n; off += sizeof *ev + ev->len) {
			ev = (struct inotify_event *)(buf + off);
			len += snprintf(out + len, cap - len, "%s%d:0x%x%s%s", len ? "," : "", ev->wd,
					ev->mask, ev->len ? ":" : "", ev->len ? ev->name : "");
		}
}

static int verify(void)
{
	char ev[1024];

	if (once++)
		return 0;
	touch("f", O_WRONLY | O_APPEND);
	touch("sub/new", O_WRONLY | O_CREAT);
	touch("g", O_RDONLY);
	events(ev, sizeof ev);
	printf("inotify events=%s next=%d nb=%d\n", ev, watch("h", IN_OPEN),
	       !!(fcntl(ifd, F_GETFL) & O_NONBLOCK));
	return 0;
}

int main(int argc, char **argv)
{
	char p[4096], ev[256];
	int pp[2];

	if (argc != 3)
		return fprintf(stderr, "usage: fdf_inotify files|pipe|fanotify DIR\n"), 2;
	dir = argv[2];
	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0755);
	touch("f", O_WRONLY | O_CREAT);
	touch("x", O_WRONLY | O_CREAT);
	touch("g", O_WRONLY | O_CREAT);
	touch("h", O_WRONLY | O_CREAT);
	if ((ifd = inotify_init1(IN_NONBLOCK)) < 0 || watch("f", IN_MODIFY) != 1)
		return printf("FAIL inotify: %s\n", strerror(errno)), 1;
	if (!strcmp(argv[1], "fanotify")) {
		int fan = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
		if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, dir) < 0)
			return printf("FAIL fanotify: %s\n", strerror(errno)), 1;
		printf("open fan %d\n", fan);
	} else if (!strcmp(argv[1], "pipe")) {
		if (pipe(pp) < 0)
			return 1;
		snprintf(p, sizeof p, "/proc/self/fd/%d", pp[0]);
		if (inotify_add_watch(ifd, p, IN_ACCESS) != 2)
			return printf("FAIL pipe watch: %s\n", strerror(errno)), 1;
	} else if (watch("sub", IN_CREATE) != 2 || watch("x", IN_ATTRIB) != 3 ||
		   inotify_rm_watch(ifd, 3) < 0 || watch("g", IN_OPEN) != 4) {
		return printf("FAIL watches: %s\n", strerror(errno)), 1;
	}
	events(ev, sizeof ev);
	printf("open ifd %d\n", ifd);
	return serve_verify("fdf_inotify", verify);
}
