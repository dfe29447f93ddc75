/* ckpt-thaw - a raw (or compressed) stream back to a running process:
 * the process made with its old pid, its fds in place, then the
 * restorer exec'd in it with a plan and the pages (doc/restore.md).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "imageread.h"
#include "io.h"
#include "pagefeed.h"
#include "pidused.h"
#include "plan.h"
#include "planstatus.h"
#include "planwrite.h"
#include "rules.h"
#include "selfdir.h"
#include "spawn.h"
#include "spawntree.h"
#include "timing.h"

static const char usage_str[] =
	"ckpt-thaw [--stdin PATH] [--same-ns] [--files-rules PATH] [--trust-image] [IMAGE]";

static const struct option options[] = {
	{ "stdin", required_argument, NULL, 'i' },
	{ "same-ns", no_argument, NULL, 's' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "trust-image", no_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define PID_WAIT_MS 3000   /* an id held by a dying or zombie process */
#define KILL_WAIT_MS 5000  /* for the image's own process, to be killed */

/* one process of the restore: what the image says of it, and its
 * restorer once made */
struct thaw_proc {
	struct img_proc img;
	struct restorer rst;
	int held;                  /* a memfd with its page data, or -1 */
};

/* the job */
struct thaw {
	struct img_in in;
	struct fd_attach attach;
	int same_ns, newns, userns; /* restore in a new pid (and user) ns */
	const char *rules_path;    /* --files-rules: restart paths */
	struct rules rules;
	int hold;                  /* 1: read the whole stream first, the pages
	                            * into held (pages_hold) */
	int read_all;              /* the stream was read to its trailer */
	struct thaw_proc *procs;   /* one per manifest line: [0] the root */
	unsigned nprocs;
	struct spawn_tree tree;    /* more than one process: how they are made */
	char restorer[4096];
};

static struct thaw thaw;

/* what the reading made: freed at exit, so that ASan's leak check
 * covers it (fdplan_free also closes the fds ckpt-thaw held) */
static void thaw_free(struct thaw *t)
{
	unsigned i;

	for (i = 0; i < t->nprocs; i++)
		img_proc_free(&t->procs[i].img);
	free(t->procs);
	t->procs = NULL;
	t->nprocs = 0;
	tree_free(&t->tree);
	fdjob_free(&t->in.fdjob);
	rules_free(&t->rules);
}

/* kill what was made, and go: a bad image leaves no process behind */
static _Noreturn void abandon(struct thaw *t)
{
	if (t->tree.node)
		tree_kill(&t->tree);
	else if (t->procs && t->procs[0].rst.child > 0) {
		kill(t->procs[0].rst.child, SIGKILL);
		waitpid(t->procs[0].rst.child, NULL, 0);
	}
	exit(1);
}

/* the members of manifest line i before its pages, read and checked
 * (nothing made yet): 0, or -1 after a message */
static int proc_read(struct thaw *t, unsigned i)
{
	struct img_proc *p = &t->procs[i].img;
	pid_t pid = t->in.man.proc[i].pid;

	if (img_proc_read(&t->in, p, pid) < 0 || img_proc_vouch(&t->in, p) < 0)
		return -1;
	if (t->rules_path && fdplan_rules(&p->fds, pid, &t->rules) < 0)
		return -1;
	return 0;
}

/* the manifest, then the root's members: 0, or -1 after a message */
static int image_read(struct thaw *t)
{
	unsigned i;

	if (img_manifest_read(&t->in) < 0)
		return -1;
	t->nprocs = t->in.man.nprocs;
	if (!(t->procs = calloc(t->nprocs, sizeof *t->procs)))
		die("out of memory");
	for (i = 0; i < t->nprocs; i++)
		t->procs[i].held = -1;
	return proc_read(t, 0);
}

/* the first id in use of the root (its pid and tids) and every other
 * pid of the manifest, or 0 (pids_wait_free); the other processes'
 * tids are checked as they come (tids_check) */
static pid_t ids_taken(struct thaw *t, pid_t *holder)
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
static int held_by_itself(struct thaw *t, pid_t id, pid_t holder)
{
	const struct img_core *c = &t->procs[0].img.core;
	struct stat st;

	return t->nprocs == 1 && t->in.man.kill && t->procs[0].held < 0 && id == c->pid && holder == id &&
	       c->starttime && pid_starttime(holder) == c->starttime &&
	       !t->attach.from_file && fstat(0, &st) == 0 && !S_ISREG(st.st_mode);
}

/* in this namespace with the old ids (root, and they are free), else in
 * a new one; again is 1 when an id was taken between the check and the
 * clone3 (another restore of the same image, say).  Or, when the pid's
 * holder is to be killed after the stream, first read it all (hold). */
static void ns_choose(struct thaw *t, int again)
{
	pid_t pid = t->procs[0].img.core.pid, holder = 0, id = again ? pid : ids_taken(t, &holder);

	if (geteuid() == 0 && !id)
		return;
	if (geteuid() == 0 && !again && held_by_itself(t, id, holder)) {
		t->hold = 1;
		return;
	}
	if (t->same_ns) {
		if (again)
			warn("pid %d: taken meanwhile by another process (--same-ns)", pid);
		else if (id)
			warn("pid %d: id %d is taken in this pid namespace (--same-ns)", pid, id);
		else
			warn("pid %d: only root can choose pids in this namespace (--same-ns)", pid);
		abandon(t);
	}
	t->newns = 1;
	t->userns = geteuid() != 0;
}

/* root restores another uid's process as that uid */
static int creds_choose(const struct thaw *t, const struct img_core *c)
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
static struct spawn spawn_of(const struct thaw *t, struct img_proc *p)
{
	return (struct spawn){ .core = &p->core, .fds = &p->fds, .restorer = t->restorer,
			       .newns = t->newns, .userns = t->userns,
			       .setcreds = creds_choose(t, &p->core),
			       .lend = creds_lend(p->thr, p->nthr, t->userns) };
}

/* the rest of the stream must be there, trailer included, before the
 * process may run */
static void stream_finish(struct thaw *t)
{
	int r;

	if (t->read_all)
		return;
	while ((r = stream_next(&t->in.st)) > 0)
		;
	if (r < 0)
		abandon(t);
	t->read_all = 1;
}

/* the page data of the current member into the plan pipe; a pipe that
 * failed is marked (-1 - fd): the restorer is gone, its status says why */
static void pages_to(struct thaw *t, int *fd)
{
	int r = *fd >= 0 ? pages_feed(&t->in.st, *fd) : 0;

	if (r == -2)
		abandon(t);
	if (r < 0)
		*fd = -1 - *fd;
}

/* The pid's holder is the image's own process, which the stream's
 * writer kills once we have read the stream (ckpt-freeze --kill, and
 * it closes the stream only when the pid is free): the pages into a
 * memfd, the rest of the stream, then wait for the process to go
 * (pidfd, bounded) and choose the namespace again. */
static void pages_hold(struct thaw *t, struct thaw_proc *tp)
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
		ns_choose(t, 0);   /* gone meanwhile, or no memfd */
		return;
	}
	if ((r = pages_feed(&t->in.st, tp->held)) == -2)
		abandon(t);
	if (r < 0)
		die("pid %d: keep the pages in memory until the pid is free:", pid);
	stream_finish(t);
	timing_phase("read the stream, the pages into memory");
	while (poll(&p, 1, KILL_WAIT_MS) < 0 && errno == EINTR)
		;
	close(pidfd);
	ns_choose(t, 0);
	timing_phase("wait for the old process to go");
}

/* the page data of the process: held, or from the stream */
static void pages(struct thaw *t, struct thaw_proc *tp)
{
	struct restorer *r = &tp->rst;

	if (tp->held >= 0) {
		if (pages_held_feed(tp->held, r->plan_w, tp->img.mem.run_bytes) < 0)
			r->plan_w = -1 - r->plan_w;
		close(tp->held);
		tp->held = -1;
		timing_phase("feed the pages from memory");
		return;
	}
	pages_to(t, &r->plan_w);
	timing_phase("feed the pages");
	pages_timing();
}

static void forward(int sig)
{
	pid_t child = thaw.tree.child > 0 ? thaw.tree.child : thaw.procs[0].rst.child;

	if (child > 0)
		kill(child, sig);
}

static int child_wait(pid_t child)
{
	int st;

	signal(SIGINT, SIG_IGN);   /* the terminal signals the job itself */
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			die("wait for pid %d:", child);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void restorer_find(struct thaw *t)
{
	const char *env = getenv("CKPT_RESTORER");
	char dir[2048];
	int e;

	if (env && *env) {
		snprintf(t->restorer, sizeof t->restorer, "%s", env);
		return;
	}
	if ((e = self_dir(dir, sizeof dir)) < 0)
		dieerr(e, "find the restorer: /proc/self/exe:");
	snprintf(t->restorer, sizeof t->restorer, "%s/../lib/ckpt/ckpt-restorer", dir);
	if (access(t->restorer, X_OK) < 0)
		die("restorer %s:", t->restorer);
}

/* the options, checked; the stream opened: 0, or the exit status */
static int setup(struct thaw *t, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "+i:sr:Th", options, NULL)) != -1) {
		switch (c) {
		case 'i': t->attach.stdin_path = optarg; break;
		case 's': t->same_ns = 1; break;
		case 'r': t->rules_path = optarg; break;
		case 'T': t->in.trust_image = 1; break;
		case 'h': printf("usage: %s\n", usage_str); exit(0);
		default: usage_die(usage_str);
		}
	}
	if (argc - optind > 1) {
		warn("one image at a time: for a chain, ckpt-unpack BASE INC... | ckpt-thaw");
		usage_die(usage_str);
	}
	if (t->attach.stdin_path && access(t->attach.stdin_path, R_OK) < 0)
		die("--stdin %s:", t->attach.stdin_path);
	restorer_find(t);
	/* a bad rules file is found before anything is read or made */
	if (t->rules_path && rules_load(&t->rules, t->rules_path) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	t->attach.from_file = t->in.from_file = optind < argc;
	if (!t->attach.from_file && isatty(0)) {
		warn("no image: name a file, or pipe the stream in");
		usage_die(usage_str);
	}
	if (stream_open(&t->in.st, t->attach.from_file ? argv[optind] : NULL, 0,
			t->attach.from_file ? argv[optind] : "stdin") < 0)
		return 1;
	return 0;
}

/* Every process of the manifest made (spawntree.h), in this pid
 * namespace or a new one.  An older image's one proc line has no
 * group and session: the core's are the ones. */
static void tree_start(struct thaw *t)
{
	struct img_proc *root = &t->procs[0].img;
	struct spawn sp = spawn_of(t, root);
	struct img_mproc *m = &t->in.man.proc[0];
	int r;

	if (!m->pgid && !m->sid)
		m->pgid = root->core.pgid, m->sid = root->core.sid;
	if (tree_init(&t->tree, &t->in.man, t->restorer) < 0)
		abandon(t);
	if ((r = tree_build(&t->tree, &sp)) == SPAWN_TAKEN) {
		ns_choose(t, 1);
		sp.newns = t->newns;
		sp.userns = t->userns;
		r = tree_build(&t->tree, &sp);
	}
	if (r < 0)
		abandon(t);
	timing_phase("make the processes (clone3)");
}

/* a process's thread ids, in this namespace: its pid is its own by now */
static int tids_check(struct thaw *t, const struct img_proc *p)
{
	pid_t *ids, id = 0, holder;
	unsigned i, n = 0;

	if (t->newns)
		return 0;
	if (!(ids = calloc(p->nthr, sizeof *ids)))
		die("out of memory");
	for (i = 0; i < p->nthr; i++)
		if (p->thr[i].tid != p->core.pid)
			ids[n++] = p->thr[i].tid;
	id = n ? pids_wait_free(ids, n, &holder, PID_WAIT_MS) : 0;
	free(ids);
	if (id)
		return warn("pid %d: thread id %d is taken in this pid namespace", p->core.pid, id), -1;
	return 0;
}

/* process i becomes its image's: its fds opened here and handed over,
 * the restorer exec'd in it, the plan */
static void proc_spawn(struct thaw *t, unsigned i)
{
	struct thaw_proc *tp = &t->procs[i];
	struct img_proc *p = &tp->img;
	struct spawn sp = spawn_of(t, p);
	int r;

	if (creds_can(&p->core, p->thr, p->nthr, t->userns) < 0 ||
	    fdplan_open(&p->fds, p->core.pid, &t->attach) < 0)
		abandon(t);
	timing_phase("open the fds");
	tp->rst = (struct restorer){ .pid = p->core.pid, .newns = t->newns && i == 0,
				     .oom_kills = oom_kills() };
	r = tree_become(&t->tree, i, &sp);
	tp->rst.child = sp.child;
	tp->rst.plan_w = sp.plan_w;
	tp->rst.status_r = sp.status_r;
	if (r < 0)
		abandon(t);
	timing_phase("hand over the fds, exec the restorer");
	if ((r = plan_write(tp->rst.plan_w, p, t->newns, t->userns)) == -2)
		abandon(t);
	if (r < 0)   /* the restorer is gone: its status says why, at the go */
		tp->rst.plan_w = -1 - tp->rst.plan_w;
	timing_phase("write the plan (restorer: move, clear, map)");
}

/* Every process built and the whole stream read: the saved files put
 * in place, our copies of the fds closed (a pipe between two processes
 * must see its ends as they are), then every process its go. */
static void go(struct thaw *t)
{
	struct restorer *r;
	unsigned i;

	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie &&
		    fdplan_commit(&t->procs[i].img.fds, t->in.man.proc[i].pid) < 0)
			abandon(t);
	timing_phase("put the saved files in place");
	if (fdjob_settle(&t->in.fdjob) < 0)
		die("pipes: out of memory");
	for (i = 0; i < t->nprocs; i++)
		fdplan_close_srcs(&t->procs[i].img.fds);
	for (i = 0; i < t->nprocs; i++) {
		r = &t->procs[i].rst;
		if (!t->in.man.proc[i].zombie && restorer_go(r) < 0) {
			restorer_status(r);
			abandon(t);
		}
	}
	for (i = 0; i < t->nprocs; i++)
		if (!t->in.man.proc[i].zombie && restorer_status(&t->procs[i].rst) < 0)
			abandon(t);
	timing_phase("go: protections, vDSO, mm, threads, OK");
}

/* The processes made from the manifest, then each becomes its image's
 * in stream order, and the go once all are: 0, or the exit status */
static int restore(struct thaw *t)
{
	unsigned i;

	tree_start(t);
	for (i = 0; i < t->nprocs; i++) {
		if (t->in.man.proc[i].zombie)
			continue;
		if (i > 0 && (proc_read(t, i) < 0 || tids_check(t, &t->procs[i].img) < 0))
			abandon(t);
		proc_spawn(t, i);
		pages(t, &t->procs[i]);
	}
	stream_finish(t);
	timing_phase("read the rest of the stream");
	go(t);
	timing_running_at();
	stream_close(&t->in.st);
	return child_wait(t->tree.child);
}

int main(int argc, char **argv)
{
	struct thaw *t = &thaw;
	int c;

	prog_init(argv);
	timing_init();
	if ((c = setup(t, argc, argv)) != 0)
		return c;
	if (image_read(t) < 0) {
		thaw_free(t);
		return 1;
	}
	timing_phase("read and check the members before the pages");
	ns_choose(t, 0);
	if (t->hold)
		pages_hold(t, &t->procs[0]);
	timing_phase("choose namespaces");
	c = restore(t);
	thaw_free(t);
	return c;
}
