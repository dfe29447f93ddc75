/* job.c - a process and its descendants, frozen as one cut */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "freeze.h"
#include "io.h"
#include "job.h"
#include "maps.h"
#include "pidused.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

/* What /proc/PID/stat says: state, ppid, pgrp, session, and the exit
 * code (field 52, the wait status a zombie's parent would get).  0,
 * or -1 when the process is gone. */
struct pstat {
	char state;
	long long ppid, pgid, sid, exit_code;
};

static int pstat_read(pid_t pid, struct pstat *ps)
{
	char path[64], *s, *p;
	long long f[53] = { 0 };
	int n = 3;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(s = read_file(path, NULL)))
		return -1;
	p = strrchr(s, ')');
	if (!p || sscanf(p, ") %c", &ps->state) != 1) {
		free(s);
		return -1;
	}
	for (p = strchr(p + 2, ' '); p && n < 52; p = strchr(p + 1, ' '))
		f[++n] = strtoll(p + 1, NULL, 10);
	free(s);
	ps->ppid = f[4];
	ps->pgid = f[5];
	ps->sid = f[6];
	ps->exit_code = f[52];
	return 0;
}

/* a zombie: its state is Z and no thread of it runs on (a process
 * whose main thread alone has exited shows Z too) */
static int is_zombie(pid_t pid, const struct pstat *ps)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (ps->state != 'Z')
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n <= 1;
}

static struct job_proc *job_find(const struct job *j, pid_t pid)
{
	unsigned i;

	for (i = 0; i < j->n; i++)
		if (j->v[i].pid == pid)
			return &j->v[i];
	return NULL;
}

static struct job_proc *job_add(struct job *j, pid_t pid)
{
	struct job_proc *p;

	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 64;
		if (!(j->v = realloc(j->v, j->cap * sizeof *j->v)))
			die("job of %u processes: out of memory", j->n);
	}
	p = &j->v[j->n++];
	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->sock = -1;
	return p;
}

pid_t *children_of(pid_t pid, unsigned *n)
{
	char path[320], *text, *p, *end;
	struct dirent *e;
	pid_t *v = NULL;
	unsigned cap = 0;
	long c;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, e->d_name);
		if (!(text = read_file(path, NULL)))
			continue;
		for (p = text; (c = strtol(p, &end, 10)) > 0 && end != p; p = end) {
			if (*n == cap && !(v = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v)))
				die("children of pid %d: out of memory", (int)pid);
			v[(*n)++] = c;
		}
		free(text);
	}
	closedir(d);
	return v;
}

/* the shim's library is mapped in pid: a missing socket is one not
 * made yet (between fork and the child's handler) */
static int shim_mapped(pid_t pid)
{
	char path[64], *maps;
	int r;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	maps = read_file(path, NULL);
	r = maps && strstr(maps, "/libckpt.so");
	free(maps);
	return r;
}

static void no_shim(pid_t pid, pid_t parent)
{
	char path[64], exe[4096];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	if (shim_mapped(pid))
		warn("pid %d (%s), child of pid %d: a process of the job with the ckpt shim's library but no control socket after 2 s (its shim could not start: see its stderr): the job cannot be checkpointed; nothing stays frozen",
		     (int)pid, n > 0 ? exe : "?", (int)parent);
	else
		warn("pid %d (%s), child of pid %d: a process of the job without the ckpt shim (a static program, or LD_PRELOAD cleared): the job cannot be checkpointed; nothing stays frozen",
		     (int)pid, n > 0 ? exe : "?", (int)parent);
}

/* pid's freeze on s: 1 frozen, 0 the shim went away meanwhile (an
 * exec, an exit: look again), -1 after a message */
static int join_freeze(struct job *j, int s, pid_t pid, unsigned timeout_ms)
{
	int r = freeze_on(s, pid, timeout_ms);

	if (r == 0) {
		job_add(j, pid)->sock = s;
		return 1;
	}
	if (r < -1)
		close(s);
	return r < -1 ? 0 : -1;
}

/* One child of a frozen process into the job: frozen, a zombie line,
 * or left out when it is gone.  A child with the shim's library but no
 * socket yet (between fork and its handler) is waited for, up to 2 s;
 * one without the library for 100 ms (an exec between two images).
 * 0, or -1 after a message. */
static int join(struct job *j, pid_t pid, pid_t parent, unsigned timeout_ms)
{
	long start = now_ms();
	struct pstat ps;
	int s, why, r;

	for (;; nap_ms(1)) {
		if (pstat_read(pid, &ps) < 0 || ps.ppid != parent)
			return 0;  /* gone, or reaped and the pid taken again */
		if (is_zombie(pid, &ps)) {
			struct job_proc *p = job_add(j, pid);

			p->zombie = 1;
			p->status = ps.exit_code;
			return 0;
		}
		s = ctl_open_try(pid, &why);
		if (s < 0 && why == CTL_REFUSED && (s = ctl_open(pid)) < 0)
			return -1;  /* said why */
		if (s >= 0) {
			if ((r = join_freeze(j, s, pid, timeout_ms)) != 0)
				return r < 0 ? -1 : 0;
			if (now_ms() - start > 5000) {
				warn("pid %d, child of pid %d: its shim went away at each freeze for 5 s (an exec after another): nothing stays frozen",
				     (int)pid, (int)parent);
				return -1;
			}
			continue;
		}
		if (why == CTL_NOSHIM && now_ms() - start > (shim_mapped(pid) ? 2000 : 100)) {
			no_shim(pid, parent);
			return -1;
		}
	}
}

/* every child of every frozen process that is not in the job yet (the
 * job grows as it goes: their children too); how many joined, or -1 */
static int scan(struct job *j, unsigned timeout_ms)
{
	unsigned i, k, n, before = j->n;
	pid_t *c;

	for (i = 0; i < j->n; i++) {
		if (j->v[i].zombie)
			continue;
		c = children_of(j->v[i].pid, &n);
		for (k = 0; k < n; k++)
			if (!job_find(j, c[k]) && join(j, c[k], j->v[i].pid, timeout_ms) < 0) {
				free(c);
				return -1;
			}
		free(c);
	}
	return j->n - before;
}

/* ppid, pgid, sid of every process, once all are frozen; a process
 * whose parent is not before it (reparented under a frozen subreaper
 * of the job after its parent left) is refused */
static int ids_read(struct job *j)
{
	struct pstat ps;
	unsigned i;

	for (i = 0; i < j->n; i++) {
		struct job_proc *p = &j->v[i];

		if (pstat_read(p->pid, &ps) < 0) {
			warn("pid %d: /proc/%d/stat: gone while frozen", (int)p->pid, (int)p->pid);
			return -1;
		}
		p->ppid = ps.ppid;
		p->pgid = ps.pgid;
		p->sid = ps.sid;
		if (i && !job_find(j, p->ppid)) {
			warn("pid %d: its parent %d left the job while it was frozen", (int)p->pid, (int)p->ppid);
			return -1;
		}
		if (i && job_find(j, p->ppid) > p) {
			warn("pid %d: its parent %d comes after it in the job", (int)p->pid, (int)p->ppid);
			return -1;
		}
	}
	return 0;
}

/* one connection per process: room for a job of thousands */
static void fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int job_freeze(struct job *j, pid_t root, unsigned timeout_ms, int single)
{
	long t0 = now_ms();
	int s, r = 0;

	memset(j, 0, sizeof *j);
	fd_limit_raise();
	if ((s = freeze_open(root, timeout_ms)) < 0)
		return -1;
	job_add(j, root)->sock = s;
	/* A frozen process forks no more, so one pass top down finds
	 * every child once its parent is frozen.  Children can still come
	 * by reparenting (an orphan of a child that exited before it was
	 * frozen, to a subreaper of the job): a pass over the whole job
	 * that finds none is the proof that the set is stable. */
	while (!single && (r = scan(j, timeout_ms)) > 0)
		;
	j->freeze_ms = now_ms() - t0;
	if (r == 0 && ids_read(j) == 0)
		return 0;
	job_release(j);
	return -1;
}

int job_thaw(struct job *j)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < j->n; i++) {
		struct job_proc *p = &j->v[i];

		if (p->sock < 0)
			continue;
		if (i == 0) {
			r = freeze_thaw(p->sock, p->pid);
		} else {
			/* a child that exits or execs the moment it is thawed
			 * is a job going on, not news */
			int e = ctl_simple(p->sock, CKPT_OP_THAW, 0, NULL);

			close(p->sock);
			if (e < 0 && e != -ECONNRESET && e != -EPIPE) {
				warnerr(e, "pid %d: thaw:", (int)p->pid);
				r = -1;
			}
		}
		p->sock = -1;
	}
	return r;
}

/* the process of pid that started at start (0: not known, any) is
 * still there, a zombie included */
static int still_there(pid_t pid, unsigned long long start)
{
	unsigned long long now = pid_starttime(pid);

	return start ? now == start : now != 0;
}

/* after SIGKILL: the pid must be free for a thaw that follows at once
 * (a zombie is freed when init reaps it, once its parent is gone).  A
 * process of another start time at the pid is not ours: the restore
 * of `ckpt-freeze --kill | ckpt-thaw` may have taken it already. */
static void wait_gone(pid_t pid, unsigned long long start, long deadline)
{
	while (still_there(pid, start) && now_ms() < deadline)
		nap_ms(5);
	if (still_there(pid, start))
		warn("pid %d: killed, but not yet reaped by its parent", (int)pid);
}

int job_kill(struct job *j)
{
	long deadline = now_ms() + 5000;
	unsigned i;
	int r = 0;

	/* children first: each dies frozen, none sees another go */
	for (i = j->n; i-- > 0;) {
		struct job_proc *p = &j->v[i];

		if (p->sock < 0)
			continue;
		/* killed while still frozen: it never runs past the checkpoint */
		p->start = pid_starttime(p->pid);
		if (ctl_simple(p->sock, CKPT_OP_KILL, 0, NULL) < 0 &&
		    kill(p->pid, SIGKILL) < 0 && errno != ESRCH) {
			warn("pid %d: kill:", (int)p->pid);
			r = -1;
		}
		close(p->sock);
		p->sock = -1;
	}
	for (i = 0; i < j->n; i++)
		wait_gone(j->v[i].pid, j->v[i].start, deadline);
	return r;
}

void job_release(struct job *j)
{
	unsigned i;

	for (i = 0; i < j->n; i++)
		if (j->v[i].sock >= 0)
			close(j->v[i].sock);
	free(j->v);
	memset(j, 0, sizeof *j);
}
