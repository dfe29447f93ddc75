/* ptyjob.c - the sessions whose terminal is the job's (ptyjob.h) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "err.h"
#include "fdscan.h"
#include "pty.h"
#include "ptydump.h"
#include "ptyjob.h"

/* "tty-index:" of a master's fdinfo, -1 if none */
static int master_index(pid_t pid, const char *fd)
{
	char path[320], line[128];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid, fd);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "tty-index: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* the lowest fd of pid on the slave of pty n, or -1 */
static int slave_fd(pid_t pid, int n)
{
	const struct fdscan *s = fdscan_of(pid);
	size_t i;

	for (i = 0; s && i < s->n; i++)   /* by fd: the first is the lowest */
		if (S_ISCHR(s->v[i].st.st_mode) && pty_index_of(s->v[i].st.st_rdev) == n)
			return s->v[i].fd;
	return -1;
}

/* the pty indexes of pid's masters, at most max: their count */
static int masters_of(pid_t pid, int *idx, int max)
{
	const struct fdscan *s = fdscan_of(pid);
	char fd[16];
	size_t i;
	int k = 0, n;

	for (i = 0; s && k < max && i < s->n; i++) {
		if (!S_ISCHR(s->v[i].st.st_mode) || s->v[i].st.st_rdev != makedev(5, 2))
			continue;
		snprintf(fd, sizeof fd, "%d", s->v[i].fd);
		if ((n = master_index(pid, fd)) >= 0)
			idx[k++] = n;
	}
	return k;
}

/* process k of j holds the master of pty n */
static int has_master(const struct job *j, unsigned k, int n)
{
	int idx[64], nm = masters_of(j->v[k].pid, idx, 64), m;

	for (m = 0; m < nm; m++)
		if (idx[m] == n)
			return 1;
	return 0;
}

/* a process of j holds the master of pty n */
static int master_in_job(const struct job *j, int n)
{
	unsigned i;

	for (i = 0; i < j->n; i++)
		if (!j->v[i].zombie && has_master(j, i, n))
			return 1;
	return 0;
}

int ptyjob_check(const struct job *j)
{
	int idx[64], nm, m, fd;
	unsigned i, k;

	for (i = 0; i < j->n; i++) {
		if (j->v[i].zombie)
			continue;
		nm = masters_of(j->v[i].pid, idx, 64);
		/* a process before the master's that holds its slave */
		for (m = 0; m < nm; m++)
			for (k = 0; k < i; k++)
				if (!j->v[k].zombie && !has_master(j, k, idx[m]) &&
				    (fd = slave_fd(j->v[k].pid, idx[m])) >= 0)
					return warn("pid %d: fd %d: the slave of pty %d, whose master pid %d holds, later in the job: a restore makes a pair from its master first (not supported)",
						    (int)j->v[k].pid, fd, idx[m], (int)j->v[i].pid), -1;
	}
	return 0;
}

int ptyjob_ctty_write(FILE *f, const struct job *j)
{
	unsigned i;
	dev_t tty;
	pid_t fg;
	int n;

	for (i = 0; i < j->n; i++) {
		if (j->v[i].zombie || j->v[i].sid != j->v[i].pid)
			continue;
		if (pty_ctty_of(j->v[i].pid, &tty, &fg) < 0)
			continue;
		if ((n = pty_index_of(tty)) >= 0 && master_in_job(j, n) &&
		    fprintf(f, "ctty %d %d\n", (int)j->v[i].pid, n) < 0)
			return -1;
	}
	return 0;
}
