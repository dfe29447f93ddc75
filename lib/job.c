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

/* the children of pid, from every thread's children file; a malloc'd
 * array of *n pids (a process gone: none) */
static pid_t *children_of(pid_t pid, unsigned *n)
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

/* A child being frozen with others (a batch): its connection, on
 * which the freeze was asked; or sock -1, one for join to take on its
 * own (no socket yet, an exec, a refusal to be said) */
struct asked {
	pid_t pid, parent;
	int sock;
};

/* the freeze of one child asked, unless it is gone, a zombie (a line
 * of the job now), or not simple (sock -1: join's) */
static void ask(struct job *j, struct asked *a, unsigned timeout_ms)
{
	struct pstat ps;
	int why;

	if (pstat_read(a->pid, &ps) < 0 || ps.ppid != a->parent) {
		a->pid = 0;   /* gone, or reaped and the pid taken again */
		return;
	}
	if (is_zombie(a->pid, &ps)) {
		struct job_proc *p = job_add(j, a->pid);

		p->zombie = 1;
		p->status = ps.exit_code;
		a->pid = 0;
		return;
	}
	a->sock = ctl_open_try(a->pid, &why);
	if (a->sock >= 0 && freeze_ask(a->sock, timeout_ms) < 0) {
		close(a->sock);
		a->sock = -1;
	}
}

/* The children in a[0..n) into the job: every freeze asked first, then
 * each answer taken, so that the shims park their threads at once
 * (200 processes: 36 ms one after another, bench/tree); what is not
 * simple goes through join.  0, or -1 after a message (then the
 * children not yet in the job are released). */
static int batch_join(struct job *j, struct asked *a, unsigned n, unsigned timeout_ms)
{
	unsigned k;
	int r = 0, f;

	for (k = 0; k < n; k++)
		ask(j, &a[k], timeout_ms);
	for (k = 0; k < n; k++) {
		if (!a[k].pid || a[k].sock < 0)
			continue;   /* gone, a zombie, or join's */
		f = r < 0 ? -1 : freeze_answer(a[k].sock, a[k].pid, timeout_ms);
		if (f < -1) {   /* the shim went away (an exec, an exit): join's */
			close(a[k].sock);
			a[k].sock = -1;
			continue;
		}
		if (f == 0)
			job_add(j, a[k].pid)->sock = a[k].sock;
		else if (r < 0)
			close(a[k].sock);   /* released: a freeze failed before */
		else
			r = -1;             /* said, and closed */
		a[k].pid = 0;
	}
	for (k = 0; r == 0 && k < n; k++)
		if (a[k].pid && join(j, a[k].pid, a[k].parent, timeout_ms) < 0)
			r = -1;
	return r;
}

/* every child of every frozen process that is not in the job yet, a
 * generation at a time (the job grows as it goes: their children
 * too); how many joined, or -1 */
static int scan(struct job *j, unsigned timeout_ms)
{
	unsigned i, k, n, lo = 0, hi, na, before = j->n;
	struct asked *a = NULL;
	pid_t *c;
	int r = 0;

	while (r == 0 && lo < j->n) {
		for (na = 0, hi = j->n, i = lo; i < hi; i++) {
			if (j->v[i].zombie)
				continue;
			c = children_of(j->v[i].pid, &n);
			if (n && !(a = realloc(a, (na + n) * sizeof *a)))
				die("job of %u processes: out of memory", j->n);
			for (k = 0; k < n; k++)
				if (!job_find(j, c[k]))
					a[na++] = (struct asked){ c[k], j->v[i].pid, -1 };
			free(c);
		}
		r = batch_join(j, a, na, timeout_ms);
		lo = hi;
	}
	free(a);
	return r < 0 ? -1 : (int)(j->n - before);
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

/* the answer to the thaw asked of p (sent: what sending it gave) */
static int thaw_answer(struct job_proc *p, int root, int sent)
{
	struct ctl_call c = { .op = CKPT_OP_THAW };
	int e = sent < 0 ? sent : ctl_recv(p->sock, &c);

	close(p->sock);
	p->sock = -1;
	/* a child that exits or execs the moment it is thawed is a job
	 * going on, not news */
	return thaw_result(p->pid, e, !root);
}

/* every thaw asked first, then each answer taken: the shims wake their
 * threads at once */
int job_thaw(struct job *j)
{
	struct ctl_call c = { .op = CKPT_OP_THAW };
	int *sent = calloc(j->n ? j->n : 1, sizeof *sent), r = 0;
	unsigned i;

	if (!sent)
		die("job of %u processes: out of memory", j->n);
	for (i = 0; i < j->n; i++)
		if (j->v[i].sock >= 0)
			sent[i] = ctl_send(j->v[i].sock, &c);
	for (i = 0; i < j->n; i++)
		if (j->v[i].sock >= 0 && thaw_answer(&j->v[i], i == 0, sent[i]) < 0)
			r = -1;
	free(sent);
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
