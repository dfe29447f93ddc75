/* spawn.c - the process a restore becomes, up to the exec of the
 * restorer: its pid (clone3 set_tid, in this pid namespace or in a new
 * one under a reaper), its ids, session, cwd and fds (doc/restore.md).
 *
 * The child is a copy of single-threaded ckpt-thaw: it reports failure
 * only as numbers through a close-on-exec pipe (struct child_err),
 * which the parent turns into words. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "coreread.h"
#include "io.h"
#include "kproc.h"
#include "ptyplan.h"
#include "spawn.h"

enum { CE_CHDIR = 1, CE_FDS, CE_EXEC, CE_NS, CE_CLONE, CE_CREDS, CE_LOCK, CE_ATTR, CE_CTTY };

struct child_err {
	int what, err, fd;
};

static _Noreturn void child_fail(int err_w, int what, int err, int fd)
{
	struct child_err ce = { what, err, fd };

	if (write(err_w, &ce, sizeof ce) < 0)
		_exit(126);
	_exit(127);
}

/* The restorer runs as a uid that is not root (ours in our own user
 * namespace, or the image's when root restores another uid), so exec
 * would drop the capabilities it needs: clone3 set_tid and exe_fd
 * (CAP_CHECKPOINT_RESTORE), and setting each thread's credentials
 * (lib/creds.c says which).  Keep those across exec as ambient ones;
 * the restorer sets every thread's own sets, which drops them. */
static int caps_keep(uint64_t mask)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int i;

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].inheritable |= (uint32_t)mask;
	d[1].inheritable |= (uint32_t)(mask >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	for (i = 0; i < 64; i++)
		if ((mask >> i & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return -1;
	return 0;
}

/* Root restoring a process of another uid: the image's ids for the
 * main thread, with the capabilities the restorer needs kept */
static int creds_set(const struct img_core *c, uint64_t lend)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setgroups(c->ngroups, c->groups) < 0 ||
	    setresgid(c->gid[0], c->gid[1], c->gid[2]) < 0 ||
	    setresuid(c->uid[0], c->uid[1], c->uid[2]) < 0)
		return -1;
	setfsgid(c->gid[3]);
	setfsuid(c->uid[3]);
	return caps_keep(lend);
}

static int self_write(const char *path, long long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, r;

	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof buf, "%lld", v);
	r = write(fd, buf, n) == n ? 0 : -1;
	if (r < 0) {
		n = errno;
		close(fd);
		errno = n;
		return -1;
	}
	return close(fd);
}

/* The recorded oom_score_adj, loginuid, THP disable and child-subreaper
 * flag, each exactly or the restore fails: 0, or the IMG_ATTR_ bit of
 * the one that could not be set, errno.  Before the ids change, after
 * which the process may be undumpable and its /proc/self files root's.
 * Only a value that differs is written: lowering oom_score_adj needs
 * CAP_SYS_RESOURCE, loginuid CAP_AUDIT_CONTROL (and not immutable). */
static int attrs_set(const struct spawn *t)
{
	const struct img_core *c = t->core;

	if ((c->attrs & IMG_ATTR_LOGINUID) && t->loginuid_differs &&
	    self_write("/proc/self/loginuid", c->loginuid) < 0)
		return IMG_ATTR_LOGINUID;
	if ((c->attrs & IMG_ATTR_OOM) && self_number("oom_score_adj") != c->oom_score_adj &&
	    self_write("/proc/self/oom_score_adj", c->oom_score_adj) < 0)
		return IMG_ATTR_OOM;
	if ((c->attrs & IMG_ATTR_THP) && prctl(PR_SET_THP_DISABLE, c->thp_disable & 1, c->thp_disable & 2, 0, 0) < 0)
		return IMG_ATTR_THP;
	if ((c->attrs & IMG_ATTR_SUBREAPER) && prctl(PR_SET_CHILD_SUBREAPER, c->subreaper, 0, 0, 0) < 0)
		return IMG_ATTR_SUBREAPER;
	return 0;
}

/* in the new process (its session made: spawntree.c): attributes,
 * ids, cwd, fds, then the restorer */
static _Noreturn void child_run(struct spawn *t, int plan_r, int status_w, int err_w)
{
	int keep[3] = { plan_r, status_w, err_w }, badfd = -1, e;
	unsigned badlock = 0;
	char a1[16], a2[16], *argv[4], *envp[1] = { NULL };

	if ((unsigned long)personality(0xffffffff) != t->core->personality)
		personality(t->core->personality);
	if ((e = attrs_set(t)) != 0)
		child_fail(err_w, CE_ATTR, errno, e);
	if (t->userns && caps_keep(t->lend) < 0)
		child_fail(err_w, CE_NS, errno, -1);
	if (t->setcreds && creds_set(t->core, t->lend) < 0)
		child_fail(err_w, CE_CREDS, errno, -1);
	/* as the job: a cwd the job cannot reach is not lent to it */
	if (chdir(t->core->cwd) < 0)
		child_fail(err_w, CE_CHDIR, errno, -1);
	if ((e = fdplan_install(t->fds, keep, 3, &badfd)) < 0)
		child_fail(err_w, CE_FDS, -e, badfd);
	if ((e = fdplan_locks(t->fds, &badlock)) < 0)
		child_fail(keep[2], CE_LOCK, -e, (int)badlock);
	if (t->fds->ctty && (e = pty_ctty_take(t->fds->ctty_fd, t->fds->ctty_fg)) < 0)
		child_fail(keep[2], CE_CTTY, -e, t->fds->ctty_fd);
	err_w = keep[2];
	fcntl(err_w, F_SETFD, FD_CLOEXEC);
	snprintf(a1, sizeof a1, "%d", keep[0]);
	snprintf(a2, sizeof a2, "%d", keep[1]);
	argv[0] = "ckpt-restorer";
	argv[1] = a1;
	argv[2] = a2;
	argv[3] = NULL;
	execve(t->restorer, argv, envp);
	child_fail(err_w, CE_EXEC, errno, -1);
}

pid_t clone_with_pid(pid_t pid)
{
	struct clone_args ca;
	pid_t tid = pid;

	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uintptr_t)&tid;
	ca.set_tid_size = 1;
	return syscall(SYS_clone3, &ca, sizeof ca);
}

static pid_t reaped;    /* the reaper's one child: the restored process */

static void reaper_forward(int sig)
{
	if (reaped > 0)
		kill(reaped, sig);
}

/* pid 1 of the new namespace: a fresh /proc, the restored process as
 * its child, then reap until it is gone and exit with its status (a
 * signal as 128+N: pid 1 cannot die of its own signal).  It holds no
 * fd of ckpt-thaw's: the plan's write end kept here would keep the
 * restorer waiting for its plan forever once ckpt-thaw is killed, and
 * the end of file on each pipe is how a killed ckpt-thaw ends all. */
static _Noreturn void reaper_run(struct spawn *t, int err_w, int sync_r)
{
	int st;
	pid_t w;
	char c;

	close(t->err_r);
	if (read(sync_r, &c, 1) != 1)
		_exit(127);
	close(sync_r);
	/* ckpt-thaw's end of the job's file helper: the helper must see
	 * its end when ckpt-thaw closes it (jobfs_stop), not when we go */
	if (t->fds->fs.pid > 0)
		close(t->fds->fs.sock);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail(err_w, CE_NS, errno, -1);
	reaped = clone_with_pid(t->core->pid);
	if (reaped < 0)
		child_fail(err_w, CE_CLONE, errno, -1);
	if (reaped == 0) {
		t->run(t->arg);
		_exit(127);
	}
	/* the restored process has its fds: ours (thaw's stdio, the fds
	 * moved into it, the pipes) would only keep them open */
	syscall(SYS_close_range, 0, ~0U, 0);
	signal(SIGTERM, reaper_forward);
	signal(SIGHUP, reaper_forward);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w == reaped)
			_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
		if (w < 0 && errno == ECHILD)
			_exit(127);
	}
}

static int id_map(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, e;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	e = write_all(fd, text, strlen(text));
	close(fd);
	return e < 0 ? (errno = -e, -1) : 0;
}

/* the reaper in a new pid and mount namespace, and a new user
 * namespace when not root, where our uid and gid map to themselves */
static pid_t reaper_start(struct spawn *t, int err_w)
{
	struct clone_args ca;
	char map[64];
	int sync[2];
	pid_t p;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return -1;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWPID | CLONE_NEWNS | (t->userns ? CLONE_NEWUSER : 0);
	ca.exit_signal = SIGCHLD;
	p = syscall(SYS_clone3, &ca, sizeof ca);
	if (p == 0) {
		close(sync[1]);
		reaper_run(t, err_w, sync[0]);
	}
	close(sync[0]);
	if (p > 0 && t->userns) {
		snprintf(map, sizeof map, "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
		if (id_map(p, "uid_map", map) < 0 || id_map(p, "setgroups", "deny") < 0)
			warn("pid %d: user namespace: uid map:", t->core->pid);
		snprintf(map, sizeof map, "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
		if (id_map(p, "gid_map", map) < 0)
			warn("pid %d: user namespace: gid map:", t->core->pid);
	}
	if (p > 0 && write(sync[1], "g", 1) != 1)
		warn("pid %d: start the reaper:", t->core->pid);
	close(sync[1]);
	return p;
}

/* the words for an attribute the child could not set (attrs_set) */
static void attr_fail(const struct img_core *c, int which)
{
	if (which == IMG_ATTR_OOM)
		warn("pid %d: oom_score_adj %d: cannot set it%s:", c->pid, c->oom_score_adj,
		     errno == EACCES ? " (lowering it needs CAP_SYS_RESOURCE)" : "");
	else if (which == IMG_ATTR_LOGINUID)
		warn("pid %d: loginuid %u: cannot set it (needs CAP_AUDIT_CONTROL and a loginuid not immutable):",
		     c->pid, c->loginuid);
	else if (which == IMG_ATTR_THP)
		warn("pid %d: PR_SET_THP_DISABLE %d:", c->pid, c->thp_disable);
	else
		warn("pid %d: PR_SET_CHILD_SUBREAPER %d:", c->pid, c->subreaper);
}

/* ce->fd: the index of the lock not taken (fdplan_locks) */
static void lock_fail(const struct spawn *t, const struct child_err *ce)
{
	const struct fd_lock *l = &t->fds->lock[ce->fd];

	warn("pid %d: fd %d: take its %s lock again%s:", t->core->pid, l->fd,
	     fdplan_lock_class[l->class], ce->err == EAGAIN || ce->err == EACCES ? " (another process holds one)" : "");
}

/* the words for what the child could not do (struct child_err) */
static void child_err_say(const struct spawn *t, const struct child_err *ce)
{
	const struct img_core *c = t->core;

	errno = ce->err;
	if (ce->what == CE_CHDIR)
		warn("pid %d: cwd %s:", c->pid, c->cwd);
	else if (ce->what == CE_FDS)
		warn("pid %d: fd %d: move into place:", c->pid, ce->fd);
	else if (ce->what == CE_NS)
		warn("pid %d: new namespace: mount a fresh /proc, or keep CAP_CHECKPOINT_RESTORE:", c->pid);
	else if (ce->what == CE_LOCK)
		lock_fail(t, ce);
	else if (ce->what == CE_CREDS)
		warn("pid %d: take uid %u gid %u:", c->pid, c->uid[1], c->gid[1]);
	else if (ce->what == CE_CTTY)
		warn("pid %d: fd %d: make it the controlling terminal of its session, its foreground group %d:",
		     c->pid, ce->fd, t->fds->ctty_fg);
	else if (ce->what == CE_ATTR)
		attr_fail(c, ce->fd);
	else if (ce->what == CE_CLONE)
		warn("pid %d: new namespace: clone3 with set_tid:", c->pid);
	else
		warn("pid %d: exec %s:", c->pid, t->restorer);
}

int spawn_pipes(struct spawn *t, struct spawn_pipes *p)
{
	if (pipe2(p->plan, O_CLOEXEC) < 0 || pipe2(p->status, O_CLOEXEC) < 0 ||
	    pipe2(p->err, O_CLOEXEC) < 0)
		return warn("pipe:"), -1;
	fcntl(p->plan[1], F_SETPIPE_SZ, 1 << 20);
	t->plan_w = p->plan[1];     /* for the reaper to close */
	t->status_r = p->status[0];
	t->err_r = p->err[0];
	/* ours, read here: in a new user namespace the child would see
	 * another uid's loginuid translated */
	t->loginuid_differs = (t->core->attrs & IMG_ATTR_LOGINUID) &&
			      self_number("loginuid") != (long long)t->core->loginuid;
	return 0;
}

int spawn_exec_said(const struct spawn *t, int err_r)
{
	struct child_err ce;
	ssize_t n;

	while ((n = read(err_r, &ce, sizeof ce)) < 0 && errno == EINTR)
		;
	close(err_r);
	if (n == sizeof ce) {
		child_err_say(t, &ce);
		return -1;
	}
	return 0;
}

int spawn_exec_wait(struct spawn *t, struct spawn_pipes *p)
{
	ssize_t n;

	close(p->plan[0]);
	close(p->status[1]);
	close(p->err[1]);
	if (spawn_exec_said(t, p->err[0]) < 0)
		return -1;
	for (n = 0; !t->keep_src && n < (ssize_t)t->fds->n; n++)  /* they live in the child now */
		if (t->fds->v[n].src >= 0)
			close(t->fds->v[n].src), t->fds->v[n].src = -1;
	return 0;
}

int spawn_start(struct spawn *t)
{
	struct spawn_pipes p = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int e;

	if (pipe2(p.err, O_CLOEXEC) < 0)
		return warn("pipe:"), -1;
	t->plan_w = t->status_r = -1;
	t->err_r = p.err[0];   /* for the reaper to close */
	t->keep_src = 1;
	fflush(NULL);
	t->child = t->newns ? reaper_start(t, p.err[1]) : clone_with_pid(t->core->pid);
	if (t->child < 0) {
		e = errno;
		close(p.err[0]), close(p.err[1]);
		if (!t->newns && e == EEXIST)
			return SPAWN_TAKEN;
		errno = e;
		warn("pid %d: clone3%s:", t->core->pid, t->newns ? " into a new pid namespace" : " with set_tid");
		return -1;
	}
	if (t->child == 0) {
		t->run(t->arg);
		_exit(127);
	}
	return spawn_exec_wait(t, &p);
}

void spawn_become(struct spawn *t, int plan_r, int status_w, int err_w)
{
	child_run(t, plan_r, status_w, err_w);
}
