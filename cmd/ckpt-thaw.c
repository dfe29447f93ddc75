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
	int setcreds;              /* root restoring another uid's process */
	int hold;                  /* 1: read the whole stream first, the pages
	                            * into held (pages_hold) */
	struct thaw_proc proc;
	char restorer[4096];
};

static struct thaw thaw;

/* what the reading made: freed at exit, so that ASan's leak check
 * covers it (fdplan_free also closes the fds ckpt-thaw held) */
static void thaw_free(struct thaw *t)
{
	img_proc_free(&t->proc.img);
	rules_free(&t->rules);
}

/* kill what was made, and go: a bad image leaves no process behind */
static _Noreturn void abandon(struct thaw *t)
{
	if (t->proc.rst.child > 0) {
		kill(t->proc.rst.child, SIGKILL);
		waitpid(t->proc.rst.child, NULL, 0);
	}
	exit(1);
}

/* every member before the pages, read and checked (nothing made yet):
 * 0, or -1 after a message */
static int image_read(struct thaw *t)
{
	struct img_proc *p = &t->proc.img;

	if (img_manifest_read(&t->in) < 0 || img_proc_read(&t->in, p, t->in.man.root) < 0 ||
	    img_proc_vouch(&t->in, p) < 0)
		return -1;
	if (t->rules_path && fdplan_rules(&p->fds, t->in.man.root, &t->rules) < 0)
		return -1;
	return 0;
}

/* the first of the process's ids in use, or 0 (pids_wait_free) */
static pid_t ids_taken(struct thaw *t, pid_t *holder)
{
	const struct img_proc *p = &t->proc.img;
	pid_t *ids, id;
	unsigned i;

	if (!(ids = calloc(p->nthr + 1, sizeof *ids)))
		die("out of memory");
	ids[0] = p->core.pid;
	for (i = 0; i < p->nthr; i++)
		ids[i + 1] = p->thr[i].tid;
	id = pids_wait_free(ids, p->nthr + 1, holder, PID_WAIT_MS);
	free(ids);
	return id;
}

/* `ckpt-freeze --kill PID | ckpt-thaw`: the pid is still held by the
 * very process of the image (same start time), frozen, and the stream's
 * writer kills it once we have read the stream: worth waiting for */
static int held_by_itself(struct thaw *t, pid_t id, pid_t holder)
{
	const struct img_core *c = &t->proc.img.core;
	struct stat st;

	return t->in.man.kill && t->proc.held < 0 && id == c->pid && holder == id &&
	       c->starttime && pid_starttime(holder) == c->starttime &&
	       !t->attach.from_file && fstat(0, &st) == 0 && !S_ISREG(st.st_mode);
}

/* in this namespace with the old ids (root, and they are free), else in
 * a new one; again is 1 when an id was taken between the check and the
 * clone3 (another restore of the same image, say).  Or, when the pid's
 * holder is to be killed after the stream, first read it all (hold). */
static void ns_choose(struct thaw *t, int again)
{
	pid_t pid = t->proc.img.core.pid, holder = 0, id = again ? pid : ids_taken(t, &holder);

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
static void creds_choose(struct thaw *t)
{
	const struct img_core *c = &t->proc.img.core;
	unsigned i;

	if (t->userns || geteuid() != 0)
		return;
	for (i = 0; i < 4; i++)
		if (c->uid[i] || c->gid[i])
			t->setcreds = 1;
}

/* the process, its fds moved in, the restorer exec'd in it */
static void spawn(struct thaw *t, struct thaw_proc *tp)
{
	struct img_proc *p = &tp->img;
	struct spawn sp = { .core = &p->core, .fds = &p->fds, .restorer = t->restorer,
			    .newns = t->newns, .userns = t->userns, .setcreds = t->setcreds,
			    .lend = creds_lend(p->thr, p->nthr, t->userns) };
	int r;

	tp->rst.pid = p->core.pid;
	tp->rst.oom_kills = oom_kills();
	r = spawn_restorer(&sp);

	if (r == SPAWN_TAKEN) {   /* nothing made: try a new namespace */
		ns_choose(t, 1);
		sp.newns = t->newns;
		sp.userns = t->userns;
		r = spawn_restorer(&sp);
	}
	tp->rst.child = sp.child;
	tp->rst.newns = t->newns;
	tp->rst.plan_w = sp.plan_w;
	tp->rst.status_r = sp.status_r;
	if (r < 0)
		abandon(t);
}

/* the rest of the stream must be there, trailer included, before the
 * process may run */
static void stream_finish(struct thaw *t)
{
	int r;

	while ((r = stream_next(&t->in.st)) > 0)
		;
	if (r < 0)
		abandon(t);
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

/* the page data of the process, then the rest of the stream */
static void pages(struct thaw *t, struct thaw_proc *tp)
{
	struct restorer *r = &tp->rst;

	if (tp->held >= 0) {
		if (pages_held_feed(tp->held, r->plan_w, tp->img.mem.run_bytes) < 0)
			r->plan_w = -1 - r->plan_w;
		close(tp->held);
		timing_phase("feed the pages from memory");
		return;
	}
	pages_to(t, &r->plan_w);
	timing_phase("feed the pages");
	pages_timing();
	stream_finish(t);
	timing_phase("read the rest of the stream");
}

static void go(struct thaw *t, struct restorer *r)
{
	uint64_t g = PLAN_GO;

	if (r->plan_w < 0 || write_all(r->plan_w, &g, sizeof g) < 0) {
		restorer_status(r);
		abandon(t);
	}
	close(r->plan_w);
	if (restorer_status(r) < 0)
		abandon(t);
	close(r->status_r);
}

static void forward(int sig)
{
	if (thaw.proc.rst.child > 0)
		kill(thaw.proc.rst.child, sig);
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

int main(int argc, char **argv)
{
	struct thaw *t = &thaw;
	struct thaw_proc *tp = &t->proc;
	struct img_proc *p = &tp->img;
	int c;

	prog_init(argv);
	timing_init();
	tp->held = -1;
	if ((c = setup(t, argc, argv)) != 0)
		return c;
	if (image_read(t) < 0) {
		thaw_free(t);
		return 1;
	}
	timing_phase("read and check the members before the pages");
	ns_choose(t, 0);
	if (t->hold)
		pages_hold(t, tp);
	creds_choose(t);
	if (creds_can(&p->core, p->thr, p->nthr, t->userns) < 0 ||
	    fdplan_open(&p->fds, p->core.pid, &t->attach) < 0)
		abandon(t);
	timing_phase("choose namespaces, open the fds");
	spawn(t, tp);
	timing_phase("spawn the restorer (clone3, exec)");
	if ((c = plan_write(tp->rst.plan_w, p, t->newns, t->userns)) == -2)
		abandon(t);
	if (c < 0)   /* the restorer is gone: its status says why, at the go */
		tp->rst.plan_w = -1 - tp->rst.plan_w;
	timing_phase("write the plan (restorer: move, clear, map)");
	pages(t, tp);
	if (fdplan_commit(&p->fds, p->core.pid) < 0)
		abandon(t);
	timing_phase("put the saved files in place");
	go(t, &tp->rst);
	timing_phase("go: protections, vDSO, mm, threads, OK");
	timing_running_at();
	stream_close(&t->in.st);
	c = child_wait(tp->rst.child);
	thaw_free(t);
	return c;
}
