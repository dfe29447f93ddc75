/* pidused.c - who holds a pid: a task with that id, or a process whose
 * group or session it names (read from /proc/PID/stat). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pidused.h"

#define PF_EXITING_ 0x4   /* task flags: in do_exit (include/linux/sched.h) */

struct pstat {
	pid_t pid, pgrp, sid;
	int dying;
	unsigned long long starttime;
};

/* /proc/PATH/stat: "pid (comm) state ppid pgrp session tty tpgid flags";
 * comm may hold anything, so the fields start after its last ')' */
static int pstat_read(const char *dir, struct pstat *p)
{
	char path[64], buf[512], *s, state;
	unsigned long flags;
	int ppid, pgrp, sid, tty, tpgid;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%s/stat", dir);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	if (!(s = strrchr(buf, ')')) ||
	    sscanf(s + 1, " %c %d %d %d %d %d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &ppid, &pgrp, &sid, &tty, &tpgid, &flags, &p->starttime) != 8)
		return -1;
	p->pid = atoi(buf);
	p->pgrp = pgrp;
	p->sid = sid;
	p->dying = state == 'Z' || state == 'X' || (flags & PF_EXITING_);
	return 0;
}

static void use_note(enum pid_use *worst, const struct pstat *p, pid_t id,
		     pid_t *which, pid_t *holder)
{
	enum pid_use u = p->dying ? PID_DYING : PID_LIVE;

	if (u > *worst) {
		*worst = u;
		*which = id;
		*holder = p->pid;
	}
}

/* the ids as pids or tids: /proc/TID is there for threads too */
static enum pid_use tasks_using(const pid_t *ids, unsigned n, pid_t *which, pid_t *holder)
{
	enum pid_use worst = PID_FREE;
	struct pstat p;
	char dir[16];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(dir, sizeof dir, "%d", (int)ids[i]);
		if (pstat_read(dir, &p) == 0)
			use_note(&worst, &p, ids[i], which, holder);
	}
	return worst;
}

/* the ids as process groups or sessions of any process */
static enum pid_use groups_using(const pid_t *ids, unsigned n, enum pid_use worst,
				 pid_t *which, pid_t *holder)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct pstat p;
	unsigned i;

	while (d && worst != PID_LIVE && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || pstat_read(e->d_name, &p) < 0)
			continue;
		for (i = 0; i < n; i++)
			if (p.pgrp == ids[i] || p.sid == ids[i])
				use_note(&worst, &p, ids[i], which, holder);
	}
	if (d)
		closedir(d);
	return worst;
}

enum pid_use pids_used(const pid_t *ids, unsigned n, pid_t *which, pid_t *holder)
{
	enum pid_use worst = tasks_using(ids, n, which, holder);

	if (worst == PID_LIVE)
		return worst;
	return groups_using(ids, n, worst, which, holder);
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* every process's group and session, sorted: 0, or -1 out of memory */
static int groups_read(struct pid_groups *g)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct pstat p;
	unsigned cap = 0;
	pid_t *v;

	g->n = 0;
	g->read = 1;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || pstat_read(e->d_name, &p) < 0)
			continue;
		if (g->n + 2 > cap) {
			cap = cap ? 2 * cap : 1024;
			if (!(v = realloc(g->v, cap * sizeof *v)))
				return closedir(d), -1;
			g->v = v;
		}
		g->v[g->n++] = p.pgrp;
		g->v[g->n++] = p.sid;
	}
	if (d)
		closedir(d);
	qsort(g->v, g->n, sizeof *g->v, pid_cmp);
	return 0;
}

pid_t pids_wait_free_in(struct pid_groups *g, const pid_t *ids, unsigned n, pid_t *holder,
			unsigned wait_ms)
{
	pid_t which = 0;
	unsigned i;

	if (!g->read && groups_read(g) < 0)
		g->n = 0, g->read = 0;
	for (i = 0; g->read && i < n; i++)
		if (bsearch(&ids[i], g->v, g->n, sizeof *g->v, pid_cmp))
			break;
	if (g->read && i == n && tasks_using(ids, n, &which, holder) == PID_FREE)
		return 0;
	return pids_wait_free(ids, n, holder, wait_ms);
}

void pid_groups_free(struct pid_groups *g)
{
	free(g->v);
	memset(g, 0, sizeof *g);
}

unsigned long long pid_starttime(pid_t pid)
{
	struct pstat p;
	char dir[16];

	snprintf(dir, sizeof dir, "%d", (int)pid);
	return pstat_read(dir, &p) == 0 ? p.starttime : 0;
}

pid_t pids_wait_free(const pid_t *ids, unsigned n, pid_t *holder, unsigned wait_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	unsigned waited;
	pid_t id = 0;

	for (waited = 0; waited <= wait_ms; waited += 20) {
		enum pid_use u = pids_used(ids, n, &id, holder);

		if (u == PID_FREE)
			id = 0;
		if (u != PID_DYING)
			break;
		nanosleep(&ts, NULL);
	}
	return id;
}
