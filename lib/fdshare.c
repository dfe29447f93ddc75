/* fdshare.c - the fds of the earlier processes of a job */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "fdscan.h"
#include "fdshare.h"
#include "io.h"
#include "num.h"

/* the "flags:" of /proc/PID/fdinfo/FD, octal; 0 if unreadable */
static int fdinfo_flags(pid_t pid, int fd)
{
	char path[64], *s, *p;
	int flags = 0;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (!(s = read_file(path, NULL)))
		return 0;
	if ((p = strstr(s, "flags:")))
		flags = strtol(p + 6, NULL, 8);
	free(s);
	return flags;
}

static struct fdshare_ent *ent_new(struct fdshare *s, pid_t pid)
{
	if (s->n == s->cap &&
	    !(s->v = realloc(s->v, (s->cap = s->cap ? 2 * s->cap : 64) * sizeof *s->v)))
		die("fds of pid %d: out of memory", (int)pid);
	return &s->v[s->n++];
}

static void ent_add(struct fdshare *s, pid_t pid, int fd, const struct stat *st)
{
	struct fdshare_ent *e = ent_new(s, pid);

	e->pid = pid;
	e->fd = fd;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->flags = S_ISFIFO(st->st_mode) || S_ISREG(st->st_mode) ? fdinfo_flags(pid, fd) : 0;
}

/* every fd of pid, in fd order; the process is frozen, its table still
 * (read once: fdscan.h) */
int fdshare_add(struct fdshare *s, pid_t pid)
{
	const struct fdscan *f = fdscan_of(pid);
	size_t i;

	if (!f) {
		warn("pid %d: /proc/%d/fd: its fds, to find what it shares with this process:",
		     (int)pid, (int)pid);
		return -1;
	}
	for (i = 0; i < f->n; i++)
		ent_add(s, pid, f->v[i].fd, &f->v[i].st);
	return 0;
}

int fdshare_load(struct fdshare *s, const char *pids)
{
	const char *p = pids;
	uint64_t pid;
	char *end;

	memset(s, 0, sizeof *s);
	while (*p) {
		pid = strtoull(p, &end, 10);
		if (end == p || pid == 0 || pid > INT32_MAX || (*end && *end != ',')) {
			warn("--shared-with %s: not a list of pids", pids);
			return -1;
		}
		if (fdshare_add(s, pid) < 0)
			return -1;
		p = *end ? end + 1 : end;
	}
	return 0;
}

void fdshare_free(struct fdshare *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

int fdshare_save(const struct fdshare *s, size_t from, int fd)
{
	FILE *f = fdopen(dup(fd), "a");
	size_t i;
	int r;

	if (!f)
		return -errno;
	for (i = from; i < s->n; i++)
		fprintf(f, "%d %d %llu %llu %d\n", (int)s->v[i].pid, s->v[i].fd,
			(unsigned long long)s->v[i].dev, (unsigned long long)s->v[i].ino, s->v[i].flags);
	r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

/* the next number of the table's text at *p, moved past it: 0, or -1
 * when there is none (the end, or not a number) */
static int tab_num(char **p, long long lo, long long hi, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(*p, &end, 10);
	if (end == *p || errno || *v < lo || *v > hi)
		return -1;
	*p = end;
	return 0;
}

/* "PID FD DEV INO FLAGS" a line.  Parsed by hand: every process's
 * ckpt-dumpfds reads the table of all before it, and fscanf took
 * 4 ms of a job of 50's dump (quadratic in the job's size) */
int fdshare_read(struct fdshare *s, int fd)
{
	long long v[5];
	char *text, *p;
	int k;

	memset(s, 0, sizeof *s);
	if (!(text = read_fd_all(fd, NULL))) {
		warn("--shared-table %d: not a readable file:", fd);
		return -1;
	}
	for (p = text;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		for (k = 0; k < 5; k++)
			if (tab_num(&p, k == 2 || k == 3 ? 0 : INT32_MIN,
				    k == 2 || k == 3 ? LLONG_MAX : INT32_MAX, &v[k]) < 0)
				break;
		if (k < 5) {
			free(text);
			warn("--shared-table %d: malformed after %zu entries", fd, s->n);
			return -1;
		}
		struct fdshare_ent *e = ent_new(s, v[0]);

		e->pid = v[0];
		e->fd = v[1];
		e->dev = v[2];
		e->ino = v[3];
		e->flags = v[4];
	}
	free(text);
	return 0;
}

/* our fd local and fd of pid are one open file description: 1, 0,
 * and -1 when the kernel will not say (a wrong answer would write
 * one description as two, which a restore could not undo) */
static int same_description(int local, const struct fdshare_ent *e)
{
	long r = syscall(SYS_kcmp, getpid(), e->pid, KCMP_FILE, local, e->fd);

	if (r >= 0)
		return r == 0;
	die("pid %d fd %d: kcmp with our copy of an fd of this process:", (int)e->pid, e->fd);
}

const struct fdshare_ent *fdshare_same(const struct fdshare *s, int local, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].dev == dev && s->v[i].ino == ino && same_description(local, &s->v[i]) == 1)
			return &s->v[i];
	return NULL;
}

const struct fdshare_ent *fdshare_inode(const struct fdshare *s, dev_t dev, ino_t ino, int want_read)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].dev == dev && s->v[i].ino == ino &&
		    (!want_read || (s->v[i].flags & O_ACCMODE) != O_WRONLY))
			return &s->v[i];
	return NULL;
}

const struct fdshare_ent *fdshare_other(const struct fdshare *s, int local, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].dev == dev && s->v[i].ino == ino && !same_description(local, &s->v[i]))
			return &s->v[i];
	return NULL;
}
