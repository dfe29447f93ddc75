/* fdscan.c - the fds of a process of a frozen job, read once (fdscan.h) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "fdscan.h"
#include "num.h"
#include "u64index.h"

/* the scans made so far, by pid (each allocated once: what fdscan_of
 * returned stays where it is) */
static struct {
	struct fdscan **v;
	unsigned n, cap;
	struct u64index by_pid;
} kept;

static int ent_by_fd(const void *a, const void *b)
{
	const struct fdscan_ent *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static void ent_add(struct fdscan *s, size_t *cap, int fd, const struct stat *st)
{
	if (s->n == *cap && !(s->v = realloc(s->v, (*cap = *cap ? 2 * *cap : 64) * sizeof *s->v)))
		die("fds of pid %d: out of memory", (int)s->pid);
	s->v[s->n].fd = fd;
	s->v[s->n].st = *st;
	s->n++;
}

/* every fd of pid with its stat, by fd: 0, or -errno.  fstatat from
 * the directory walks one name per fd, not /proc/PID/fd/N each time */
static int scan(struct fdscan *s, pid_t pid)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	uint64_t fd;
	DIR *d;

	s->pid = pid;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -errno;
	while ((de = readdir(d)))
		if (num_parse(de->d_name, INT32_MAX, &fd) == 0 &&
		    fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			ent_add(s, &cap, fd, &st);
	closedir(d);
	qsort(s->v, s->n, sizeof *s->v, ent_by_fd);
	return 0;
}

const struct fdscan *fdscan_of(pid_t pid)
{
	int i = u64index_get(&kept.by_pid, (uint64_t)pid), r;
	struct fdscan *s;

	if (i >= 0)
		return kept.v[i];
	if (!(s = calloc(1, sizeof *s)))
		die("fds of pid %d: out of memory", (int)pid);
	if ((r = scan(s, pid)) < 0) {
		free(s->v);
		free(s);
		errno = -r;
		return NULL;
	}
	if (kept.n == kept.cap &&
	    !(kept.v = realloc(kept.v, (kept.cap = kept.cap ? 2 * kept.cap : 16) * sizeof *kept.v)))
		die("fds of pid %d: out of memory", (int)pid);
	if (u64index_put(&kept.by_pid, (uint64_t)pid, kept.n) < 0)
		die("fds of pid %d: out of memory", (int)pid);
	kept.v[kept.n] = s;
	return kept.v[kept.n++];
}
