/* thawjob.c - the restore of a job (thawjob.h) */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "pagefeed.h"
#include "pidused.h"
#include "planwrite.h"
#include "ptyplan.h"
#include "thawjob.h"
#include "timing.h"

#define PID_WAIT_MS 3000   /* an id held by a dying or zombie process */
#define KILL_WAIT_MS 5000  /* for the image's own process, to be killed */

void thawjob_free(struct thaw_job *t)
{
	unsigned i;

	for (i = 0; i < t->nprocs; i++) {
		img_proc_free(&t->procs[i].img);
		if (t->procs[i].exec_r >= 0)
			close(t->procs[i].exec_r);
	}
	free(t->procs);
	t->procs = NULL;
	t->nprocs = 0;
	tree_free(&t->tree);
	jobobj_free(&t->objs);
	pid_groups_free(&t->groups);
	fdjob_free(&t->in.fdjob);
	rules_free(&t->rules);
}

void thawjob_kill(struct thaw_job *t)
{
	if (t->tree.node)
		tree_kill(&t->tree);
}

/* the members of manifest line i before its pages, read and checked
 * (nothing made yet) */
static int proc_read(struct thaw_job *t, unsigned i)
{
	struct img_proc *p = &t->procs[i].img;
	pid_t pid = t->in.man.proc[i].pid;

	if (img_proc_read(&t->in, p, pid) < 0 || img_proc_vouch(&t->in, p) < 0)
		return -1;
	if (t->rules_path && fdplan_rules(&p->fds, pid, &t->rules) < 0)
		return -1;
	return 0;
}

int thawjob_read(struct thaw_job *t)
{
	unsigned i;

	if (img_manifest_read(&t->in) < 0 || jobobj_read(&t->objs, &t->in, &t->in.man) < 0)
		return -1;
	t->nprocs = t->in.man.nprocs;
	t->in.fdjob.nprocs = t->nprocs;   /* a socket's peer may come later */
	t->in.fdjob.sockout = t->in.man.sockout;
	t->in.fdjob.nsockout = t->in.man.nsockout;
	if (!(t->procs = calloc(t->nprocs, sizeof *t->procs)))
		die("out of memory");
	for (i = 0; i < t->nprocs; i++)
		t->procs[i].held = t->procs[i].exec_r = -1;
	return proc_read(t, 0);
}

/* the first id in use of the root (its pid and tids) and every other
 * pid of the manifest, or 0 (pids_wait_free); the other processes'
 * tids are checked as they come (tids_check) */
static pid_t ids_taken(struct thaw_job *t, pid_t *holder)
{
	const struct img_proc *p = &t->procs[0].img;
	unsigned i, n = 0;
	pid_t *ids, id;

	if (!(ids = calloc(p->nthr + t->nprocs, sizeof *ids)))
		die("out of memory");
	for (i = 0; i < t->nprocs; i++)
		ids[n++] = t->in.man.proc[i].pid;
	for (i = 0; i < p->nthr; i++)
		ids[n++] = p->thr[i].tid;
	id = pids_wait_free(ids, n, holder, PID_WAIT_MS);
	free(ids);
	return id;
}

/* `ckpt-freeze --kill PID | ckpt-thaw`: the pid is still held by the
 * very process of the image (same start time), frozen, and the stream's
 * writer kills it once we have read the stream: worth waiting for */
static int held_by_itself(struct thaw_job *t, pid_t id, pid_t holder)
{
	const struct img_core *c = &t->procs[0].img.core;
	struct stat st;

	return t->nprocs == 1 && t->in.man.kill && t->procs[0].held < 0 && id == c->pid &&
	       holder == id && c->starttime && pid_starttime(holder) == c->starttime &&
	       !t->attach.from_file && fstat(0, &st) == 0 && !S_ISREG(st.st_mode);
}

/* in this namespace with the old ids, else in a new one; again is 1
 * when an id was taken between the check and the clone3 (another
 * restore of the same image, say).  Or hold (thawjob_ns). */
static int ns_choose(struct thaw_job *t, int again)
{
	pid_t pid = t->procs[0].img.core.pid, holder = 0, id = again ? pid : ids_taken(t, &holder);

	if (geteuid() == 0 && !id)
		return 0;
	if (geteuid() == 0 && !again && held_by_itself(t, id, holder)) {
		t->hold = 1;
		return 0;
	}
	if (t->same_ns) {
		if (again)
			return warn("pid %d: taken meanwhile by another process (--same-ns)", pid), -1;
		if (id)
			return warn("pid %d: id %d is taken in this pid namespace (--same-ns)", pid, id), -1;
		return warn("pid %d: only root can choose pids in this namespace (--same-ns)", pid), -1;
	}
	t->newns = 1;
	t->userns = geteuid() != 0;
	return 0;
}

/* root restores another uid's process as that uid */
static int creds_choose(const struct thaw_job *t, const struct img_core *c)
{
	unsigned i;

	if (t->userns || geteuid() != 0)
		return 0;
	for (i = 0; i < 4; i++)
		if (c->uid[i] || c->gid[i])
			return 1;
	return 0;
}

/* how process p is made: its ids, fds, namespaces, credentials */
static struct spawn spawn_of(const struct thaw_job *t, struct img_proc *p)
{
	return (struct spawn){ .core = &p->core, .fds = &p->fds, .restorer = t->restorer,
			       .newns = t->newns, .userns = t->userns,
			       .setcreds = creds_choose(t, &p->core),
			       .lend = creds_lend(p->thr, p->nthr, t->userns) };
}

/* the rest of the stream must be there, trailer included, before the
 * process may run */
static int stream_finish(struct thaw_job *t)
{
	int r;

	if (t->read_all)
		return 0;
	while ((r = stream_next(&t->in.st)) > 0)
		;
	t->read_all = r == 0;
	return r;
}

/* The pid's holder is the image's own process, which the stream's
 * writer kills once we have read the stream (ckpt-freeze --kill, and
 * it closes the stream only when the pid is free): the pages into a
 * memfd, the rest of the stream, then wait for the process to go
 * (pidfd, bounded) and choose the namespace again. */
static int pages_hold(struct thaw_job *t, struct thaw_proc *tp)
{
	pid_t pid = tp->img.core.pid;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r;

	t->hold = 0;
	if (pidfd < 0 || pid_starttime(pid) != tp->img.core.starttime ||
	    (tp->held = memfd_create("ckpt-thaw pages", MFD_CLOEXEC)) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return ns_choose(t, 0);   /* gone meanwhile, or no memfd */
	}
	if ((r = pages_feed(&t->in.st, tp->held)) == -2)
		return -1;
	if (r < 0)
		die("pid %d: keep the pages in memory until the pid is free:", pid);
	if (stream_finish(t) < 0)
		return -1;
	timing_phase("read the stream, the pages into memory");
	while (poll(&p, 1, KILL_WAIT_MS) < 0 && errno == EINTR)
		;
	close(pidfd);
	r = ns_choose(t, 0);
	timing_phase("wait for the old process to go");
	return r;
}

int thawjob_ns(struct thaw_job *t)
{
	if (ns_choose(t, 0) < 0 || (t->hold && pages_hold(t, &t->procs[0]) < 0))
		return -1;
	return 0;
}

/* The page data of the process, held or from the stream, into its
 * plan pipe; a pipe that failed is marked (-1 - fd): the restorer is
 * gone, its status says why.  -1 when the stream failed. */
static int pages(struct thaw_job *t, struct thaw_proc *tp)
{
	struct restorer *r = &tp->rst;
	int e = 0;

	if (tp->held >= 0) {
		if (r->plan_w >= 0 && pages_held_feed(tp->held, r->plan_w, tp->img.mem.run_bytes) < 0)
			r->plan_w = -1 - r->plan_w;
		close(tp->held);
		tp->held = -1;
		timing_phase("feed the pages from memory");
		return 0;
	}
	if (r->plan_w >= 0 && (e = pages_feed_ahead(&t->in.st, r->plan_w, &tp->feeder)) == -1)
		r->plan_w = -1 - r->plan_w;
	timing_phase("feed the pages");
	pages_timing();
	return e == -2 ? -1 : 0;
}

/* Every process of the manifest made (spawntree.h), in this pid
 * namespace or a new one.  An older image's one proc line has no
 * group and session: the core's are the ones. */
static int tree_start(struct thaw_job *t)
{
	struct img_proc *root = &t->procs[0].img;
	struct spawn sp = spawn_of(t, root);
	struct img_mproc *m = &t->in.man.proc[0];
	int r;

	if (!m->pgid && !m->sid)
		m->pgid = root->core.pgid, m->sid = root->core.sid;
	if (ptyplan_sessions(&t->in.fdjob, &t->in.man, &root->fds, root->core.pid) < 0 ||
	    tree_init(&t->tree, &t->in.man, t->restorer) < 0)
		return -1;
	if ((r = tree_build(&t->tree, &sp)) == SPAWN_TAKEN) {
		if (ns_choose(t, 1) < 0)
			return -1;
		sp.newns = t->newns;
		sp.userns = t->userns;
		r = tree_build(&t->tree, &sp);
	}
	timing_phase("make the processes (clone3)");
	return r < 0 ? -1 : 0;
}

/* id is the pid of a feeder of ours: it will be free again before any
 * thread is made (every feeder is reaped before the go, and the
 * restorers make their threads after it) */
static int own_feeder(const struct thaw_job *t, pid_t id)
{
	unsigned i;

	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].feeder == id)
			return 1;
	return 0;
}

/* a process's thread ids, in this namespace: its pid is its own by now */
static int tids_check(struct thaw_job *t, const struct img_proc *p)
{
	pid_t *ids, id = 0, holder;
	unsigned i, n = 0;

	if (t->newns)
		return 0;
	if (!(ids = calloc(p->nthr, sizeof *ids)))
		die("out of memory");
	for (i = 0; i < p->nthr; i++)
		if (p->thr[i].tid != p->core.pid && !own_feeder(t, p->thr[i].tid))
			ids[n++] = p->thr[i].tid;
	id = n ? pids_wait_free_in(&t->groups, ids, n, &holder, PID_WAIT_MS) : 0;
	free(ids);
	if (id)
		return warn("pid %d: thread id %d is taken in this pid namespace", p->core.pid, id), -1;
	return 0;
}

/* node i becomes process p, handed its fds and those of the job's
 * shared memory objects it maps (jobobj.h), made now if not yet */
static int proc_become(struct thaw_job *t, unsigned i, struct img_proc *p, struct spawn *sp)
{
	struct fdplan fds;
	int r;

	if (jobobj_plan(&t->objs, p, creds_choose(t, &p->core)) < 0 ||
	    jobobj_fds(&t->objs, &p->fds, &fds) < 0)
		return -1;
	sp->fds = &fds;
	r = tree_become(&t->tree, i, sp);
	free(fds.v);
	return r;
}

/* process i becomes its image's: its fds opened here and handed over,
 * the restorer exec'd in it, the plan */
static int proc_spawn(struct thaw_job *t, unsigned i)
{
	struct thaw_proc *tp = &t->procs[i];
	struct img_proc *p = &tp->img;
	struct spawn sp = spawn_of(t, p);
	int r;

	if (creds_can(&p->core, p->thr, p->nthr, t->userns) < 0 ||
	    fdplan_open(&p->fds, p->core.pid, &t->attach) < 0)
		return -1;
	timing_phase("open the fds");
	tp->rst = (struct restorer){ .pid = p->core.pid, .newns = t->newns && i == 0,
				     .oom_kills = oom_kills() };
	r = proc_become(t, i, p, &sp);
	tp->rst.child = sp.child;
	tp->rst.plan_w = sp.plan_w;
	tp->rst.status_r = sp.status_r;
	if (r < 0)
		return -1;
	tp->exec_r = sp.err_r;
	timing_phase("hand over the fds, exec the restorer");
	if ((r = plan_write(tp->rst.plan_w, p, t->newns, t->userns)) == -2)
		return -1;
	if (r < 0)   /* the restorer is gone: its status says why, at the go */
		tp->rst.plan_w = -1 - tp->rst.plan_w;
	timing_phase("write the plan (restorer: move, clear, map)");
	return 0;
}

/* its pages all in its pipe (a feeder's done): else the pipe is
 * closed, and the restorer's status says why (it is gone, or it ends
 * at the pipe's end) */
static void feeder_wait(struct thaw_proc *tp)
{
	int st;

	if (tp->feeder <= 0)
		return;
	while (waitpid(tp->feeder, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid:");
	tp->feeder = 0;
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && tp->rst.plan_w >= 0) {
		close(tp->rst.plan_w);
		tp->rst.plan_w = -1;
	}
}

/* every process runs its restorer (tree_become did not wait): 0, or
 * -1 after the message of the first that could not */
static int execs_check(struct thaw_job *t)
{
	struct thaw_proc *tp;
	unsigned i;
	int r = 0;

	for (i = 0; i < t->nprocs; i++) {
		tp = &t->procs[i];
		if (tp->exec_r < 0)
			continue;
		if (r == 0 && spawn_exec_said(&(struct spawn){ .core = &tp->img.core,
				.fds = &tp->img.fds, .restorer = t->restorer }, tp->exec_r) < 0)
			r = -1;
		else if (r < 0)
			close(tp->exec_r);
		tp->exec_r = -1;
	}
	return r;
}

/* Every process built and the whole stream read: the saved files put
 * in place, our copies of the fds closed (a pipe between two processes
 * must see its ends as they are), then every process its go. */
static int go(struct thaw_job *t)
{
	unsigned i;

	if (execs_check(t) < 0 || jobobj_check(&t->objs) < 0 ||
	    fdjob_settle(&t->in.fdjob) < 0)   /* before any file is written */
		return -1;
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie &&
		    fdplan_commit(&t->procs[i].img.fds, t->in.man.proc[i].pid) < 0)
			return -1;
	timing_phase("put the saved files in place");
	for (i = 0; i < t->nprocs; i++)
		fdplan_close_srcs(&t->procs[i].img.fds);
	jobobj_release(&t->objs);   /* each process maps its views by now */
	for (i = 0; i < t->nprocs; i++)
		feeder_wait(&t->procs[i]);
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie && restorer_go(&t->procs[i].rst) < 0) {
			restorer_status(&t->procs[i].rst);
			return -1;
		}
	/* every process ready (its mappings checked) before any runs */
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie && restorer_ready(&t->procs[i].rst) < 0)
			return -1;
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie && restorer_run(&t->procs[i].rst) < 0) {
			restorer_status(&t->procs[i].rst);
			return -1;
		}
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie && restorer_status(&t->procs[i].rst) < 0)
			return -1;
	timing_phase("go: protections, vDSO, mm, threads, OK");
	return 0;
}

int thawjob_restore(struct thaw_job *t)
{
	unsigned i;

	if (tree_start(t) < 0)
		return -1;
	for (i = 0; i < t->nprocs; i++) {
		if (t->in.man.proc[i].zombie)
			continue;
		if (i > 0 && (proc_read(t, i) < 0 || tids_check(t, &t->procs[i].img) < 0))
			return -1;
		if (proc_spawn(t, i) < 0 || pages(t, &t->procs[i]) < 0)
			return -1;
	}
	if (stream_finish(t) < 0)
		return -1;
	timing_phase("read the rest of the stream");
	return go(t);
}
