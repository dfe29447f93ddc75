/* fdwatch.c - inotify fds back, each watch under its old number
 * (formats/fds.md, "inotify FD ...") */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "fdwatch.h"
#include "jobfs.h"

const char *fdwatch_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	static char why[160];
	unsigned i;

	for (i = 0; i < p->nwatch; i++) {
		const struct fd_watch *w = &p->watch[i];
		if (w->fd != e->fd)
			continue;
		if (!w->path)
			snprintf(why, sizeof why, "watch %d (inode %llu on %u:%u): no path to what it watches was found at the checkpoint, as the job's user",
				 w->wd, (unsigned long long)w->ino, major(w->dev), minor(w->dev));
		else if (w->wd < 1 || w->wd > FD_WATCH_WD_MAX)
			snprintf(why, sizeof why, "watch %d: a watch descriptor above %d is not made again",
				 w->wd, FD_WATCH_WD_MAX);
		else
			continue;
		return why;
	}
	return NULL;
}

/* the next watch descriptor of ifd is wd: the kernel gives them in
 * turn after *last, the last it gave, so each number before wd is
 * spent on a watch of scratch (a memfd of ours), removed at once; 0,
 * or -1 */
static int watch_spend(int ifd, const char *scratch, int *last, int wd)
{
	while (*last < wd - 1) {
		if ((*last = inotify_add_watch(ifd, scratch, IN_ATTRIB)) < 0 ||
		    inotify_rm_watch(ifd, *last) < 0)
			return -1;
	}
	return *last < wd ? 0 : (errno = EEXIST, -1);
}

/* what watch w watches, opened by the job (so the job may read it, as
 * inotify asks of it) and checked to be that very inode: the O_PATH
 * fd, or -1 after a message */
static int watch_target(struct fdplan *p, const struct fd_watch *w, int pid)
{
	struct stat st;
	int fd, rd;

	if (fdplan_fs_ready(p, pid) < 0)
		return -1;
	if ((fd = jobfs_open(&p->fs, w->path, O_PATH | O_NOFOLLOW)) < 0)
		return warnerr(fd, "pid %d: fd %d: inotify watch %d: %s:", pid, w->fd, w->wd, w->path), -1;
	if (fstat(fd, &st) < 0 || st.st_dev != w->dev || st.st_ino != w->ino ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(fd);
		return warn("pid %d: fd %d: inotify watch %d: %s is not the file it watched (replaced since?)",
			    pid, w->fd, w->wd, w->path), -1;
	}
	rd = jobfs_open(&p->fs, w->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	if (rd < 0) {
		close(fd);
		return warnerr(rd, "pid %d: fd %d: inotify watch %d: read %s:", pid, w->fd, w->wd, w->path), -1;
	}
	close(rd);
	return fd;
}

static int by_wd(const void *a, const void *b)
{
	const struct fd_watch *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd) ?: (x->wd > y->wd) - (x->wd < y->wd);
}

/* one watch added to ifd, as wd */
static int watch_add(struct fdplan *p, int ifd, const char *scratch, int *last,
		     const struct fd_watch *w, int pid)
{
	char path[64];
	int fd = watch_target(p, w, pid), got;

	if (fd < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	got = watch_spend(ifd, scratch, last, w->wd) < 0 ? -1 : inotify_add_watch(ifd, path, w->mask);
	*last = got;
	close(fd);
	if (got != w->wd)
		return warn("pid %d: fd %d: inotify watch %d on %s: %s", pid, w->fd, w->wd, w->path,
			    got < 0 ? strerror(errno) : "the kernel gave another number"), -1;
	return 0;
}

int fdwatch_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	char scratch[64], buf[4096];
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), mfd = memfd_create("ckpt-wd", MFD_CLOEXEC);
	unsigned i;
	int last = 0;

	if (ifd < 0 || mfd < 0) {
		if (ifd >= 0)
			close(ifd);
		if (mfd >= 0)
			close(mfd);
		return -1;
	}
	snprintf(scratch, sizeof scratch, "/proc/self/fd/%d", mfd);
	qsort(p->watch, p->nwatch, sizeof *p->watch, by_wd);
	for (i = 0; i < p->nwatch; i++)
		if (p->watch[i].fd == e->fd && watch_add(p, ifd, scratch, &last, &p->watch[i], pid) < 0)
			break;
	close(mfd);
	if (i < p->nwatch) {
		close(ifd);
		return errno = ECANCELED, -1;
	}
	while (read(ifd, buf, sizeof buf) > 0)
		;
	return ifd;
}
