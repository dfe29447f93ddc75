/* spawntree.c - the processes of a tree restore (spawntree.h).
 *
 * Each process is a copy of single-threaded ckpt-thaw until it
 * becomes its image's: it holds only its socket and those of its
 * descendants, reports how its children went, then waits. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fdpass.h"
#include "fdplan.h"
#include "spawntree.h"

struct made_msg {            /* a node to ckpt-thaw: its children made */
	int err;                 /* 0, or the errno of the clone3 of pid */
	pid_t pid;
	int ctty;                /* ... of pid's TIOCSCTTY */
};

struct become_hdr {          /* ckpt-thaw to a node: what it becomes */
	struct img_core core;
	int userns, setcreds, loginuid_differs;
	uint64_t lend;
	unsigned nent, nlock, nsrc;
	int maxfd;
	int ctty, ctty_fd, ctty_fg;  /* its controlling terminal (ptyplan.h) */
};

struct become_fd {           /* one fd: its number, and whether a source
	                          * rides with it */
	int fd, has_src;
};

static int in_subtree(const struct spawn_tree *t, unsigned j, unsigned i)
{
	int k = j;

	while (k >= 0 && (unsigned)k != i)
		k = t->node[k].parent;
	return k >= 0;
}

/* every fd closed but the sockets of node i's subtree (all = 1) or its
 * own (all = 0) */
static void fds_keep(const struct spawn_tree *t, unsigned i, int all)
{
	int high = -1, fd;
	unsigned j;
	char *keep;

	for (j = 0; j < t->n; j++) {
		high = t->node[j].peer > high ? t->node[j].peer : high;
		high = t->node[j].m->ctty_fd > high ? t->node[j].m->ctty_fd : high;
	}
	if (!(keep = calloc(high + 2, 1)))
		_exit(127);
	for (j = 0; j < t->n; j++) {
		if (t->node[j].peer >= 0 && (j == i || (all && in_subtree(t, j, i))))
			keep[t->node[j].peer] = 1;
		/* a session leader's terminal, until it has taken it */
		if (t->node[j].m->ctty_fd >= 0 && all && in_subtree(t, j, i))
			keep[t->node[j].m->ctty_fd] = 1;
	}
	for (fd = 0; fd <= high; fd++)
		if (!keep[fd])
			close(fd);
	syscall(SYS_close_range, high + 1, ~0U, 0);
	free(keep);
}

/* a zombie's end: as its wait status says, by exit or by its signal
 * (no core: the status's core bit is not kept) */
static _Noreturn void zombie_exit(int status)
{
	struct rlimit no = { 0, 0 };
	sigset_t all;

	if (WIFSIGNALED(status)) {
		setrlimit(RLIMIT_CORE, &no);
		signal(WTERMSIG(status), SIG_DFL);
		sigemptyset(&all);
		sigaddset(&all, WTERMSIG(status));
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/* a group led by a process of the image, once every process exists */
static void group_join(const struct spawn_tree *t, const struct img_mproc *m)
{
	unsigned j;

	if (m->pgid == m->pid || m->sid == m->pid)
		return;
	for (j = 0; j < t->n; j++)
		if (t->node[j].m->pid == m->pgid)
			setpgid(0, m->pgid);
}

static _Noreturn void node_become(struct spawn_tree *t, unsigned i, int sock);

/* node i: its session or group if it leads one, its children, then
 * what ckpt-thaw says */
static _Noreturn void node_run(struct spawn_tree *t, unsigned i)
{
	const struct img_mproc *m;
	struct made_msg made;
	unsigned j;
	pid_t c;

again:   /* as node i; a child made here starts again as its node */
	m = t->node[i].m;
	made = (struct made_msg){ 0, 0, 0 };
	fds_keep(t, i, 1);
	if (m->sid == m->pid)
		setsid();
	else if (m->pgid == m->pid)
		setpgid(0, 0);
	/* before its children, which inherit it (ptyplan.h) */
	if (m->sid == m->pid && m->ctty_fd >= 0 && ioctl(m->ctty_fd, TIOCSCTTY, 0) < 0)
		made = (struct made_msg){ errno, m->pid, 1 };
	for (j = i + 1; j < t->n && !made.err; j++) {
		if (t->node[j].parent != (int)i)
			continue;
		if ((c = clone_with_pid(t->node[j].m->pid)) == 0) {
			i = j;
			goto again;
		}
		if (c < 0)
			made = (struct made_msg){ errno, t->node[j].m->pid, 0 };
	}
	fds_keep(t, i, 0);
	if (fds_send(t->node[i].peer, &made, sizeof made, NULL, 0) < 0 || made.err)
		_exit(127);
	node_become(t, i, t->node[i].peer);
}

static void node_entry(void *arg)
{
	node_run(arg, 0);
}

/* exactly len bytes in one message, no fds: 0 or -1 */
static int recv_exact(int sock, void *buf, size_t len)
{
	int none = 0;

	return fds_recv(sock, buf, len, NULL, &none) == (ssize_t)len ? 0 : -1;
}

/* the fds of the entries that have one, FDPASS_MAX a message */
static int recv_srcs(int sock, struct fdplan_fd *v, const struct become_fd *b, unsigned n)
{
	int fds[FDPASS_MAX], got = 0, k = 0;
	char c;
	unsigned i;

	for (i = 0; i < n; i++) {
		v[i].fd = b[i].fd;
		v[i].src = -1;
		if (!b[i].has_src)
			continue;
		if (k == got) {
			got = FDPASS_MAX;
			if (fds_recv(sock, &c, 1, fds, &got) != 1 || got == 0)
				return -1;
			k = 0;
		}
		v[i].src = fds[k++];
	}
	return 0;
}

/* ckpt-thaw's word: a zombie exits, any other node becomes its
 * process: its group, then spawn_become with what came */
static _Noreturn void node_become(struct spawn_tree *t, unsigned i, int sock)
{
	static struct become_hdr h;
	struct fdplan fp;
	struct spawn sp;
	struct become_fd *b;
	int pipes[3], np = 3;
	size_t len;
	char c;

	if (recv_exact(sock, &h, t->node[i].m->zombie ? 1 : sizeof h) < 0)
		_exit(127);
	group_join(t, t->node[i].m);
	if (t->node[i].m->zombie)
		zombie_exit(t->node[i].m->status);
	memset(&fp, 0, sizeof fp);
	len = h.nent * sizeof *b + h.nlock * sizeof *fp.lock;
	if (!(b = malloc(len + 1)) || !(fp.v = calloc(h.nent + 1, sizeof *fp.v)) ||
	    recv_exact(sock, b, len + 1) < 0 || recv_srcs(sock, fp.v, b, h.nent) < 0 ||
	    fds_recv(sock, &c, 1, pipes, &np) != 1 || np != 3)
		_exit(127);
	fp.n = h.nent;
	fp.maxfd = h.maxfd;
	fp.lock = (struct fd_lock *)(b + h.nent);
	fp.nlock = h.nlock;
	fp.ctty = h.ctty, fp.ctty_fd = h.ctty_fd, fp.ctty_fg = h.ctty_fg;
	sp = (struct spawn){ .core = &h.core, .fds = &fp, .restorer = t->restorer,
			     .userns = h.userns, .setcreds = h.setcreds, .lend = h.lend,
			     .loginuid_differs = h.loginuid_differs };
	close(sock);
	spawn_become(&sp, pipes[0], pipes[1], pipes[2]);
}

int tree_init(struct spawn_tree *t, const struct img_manifest *m, const char *restorer)
{
	unsigned i, j;
	int sv[2];

	memset(t, 0, sizeof *t);
	t->restorer = restorer;
	if (!(t->node = calloc(m->nprocs, sizeof *t->node)))
		return warn("out of memory"), -1;
	for (i = 0; i < m->nprocs; i++) {
		t->node[i] = (struct tree_node){ &m->proc[i], -1, -1, -1, 0 };
		for (j = 0; j < i; j++)
			if (m->proc[j].pid == m->proc[i].ppid)
				t->node[i].parent = j;
		t->n++;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return warn("socketpair:"), -1;
		t->node[i].sock = sv[0];
		t->node[i].peer = sv[1];
	}
	return 0;
}

/* every node's report: 0, or -1 after a message about the first that
 * failed; each node that reported exists (or existed: tree_kill) */
static int tree_made(struct spawn_tree *t)
{
	struct made_msg made;
	unsigned i;
	int r = 0;

	for (i = 0; i < t->n; i++) {
		if (recv_exact(t->node[i].sock, &made, sizeof made) < 0) {
			if (!r)
				r = -1, warn("pid %d: not made (its parent failed)", t->node[i].m->pid);
			continue;
		}
		t->node[i].made = 1;
		errno = made.err;
		if (r || !made.err)
			continue;
		r = -1;
		if (made.ctty)
			warn("pid %d: make its session's terminal its controlling terminal:", made.pid);
		else if (made.err == EEXIST)
			warn("pid %d: taken meanwhile by another process", made.pid);
		else
			warn("pid %d: clone3 with set_tid:", made.pid);
	}
	return r;
}

int tree_build(struct spawn_tree *t, struct spawn *root)
{
	unsigned i;
	int r;

	/* the job's orphans, when a restore is abandoned, come to us to
	 * be reaped (tree_kill) */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	t->newns = root->newns;
	root->run = node_entry;
	root->arg = t;
	if ((r = spawn_start(root)) != 0)
		return r;
	t->child = root->child;
	for (i = 0; i < t->n; i++)
		close(t->node[i].peer), t->node[i].peer = -1;
	if (tree_made(t) < 0)
		return -1;
	for (i = 0; i < t->n; i++)   /* every process exists: zombies go */
		if (t->node[i].m->zombie && fds_send(t->node[i].sock, "z", 1, NULL, 0) < 0)
			return warn("pid %d: zombie:", t->node[i].m->pid), -1;
	return 0;
}

/* the fds to pass: every entry, then the sources in order */
static int send_fds(int sock, const struct become_hdr *h, const struct fdplan *p)
{
	size_t len = h->nent * sizeof(struct become_fd) + h->nlock * sizeof *p->lock;
	struct become_fd *b = malloc(len + 1);
	int fds[FDPASS_MAX], k = 0, e = 0;
	unsigned i;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < p->n; i++)
		b[i] = (struct become_fd){ p->v[i].fd, p->v[i].src >= 0 };
	if (h->nlock)
		memcpy(b + p->n, p->lock, h->nlock * sizeof *p->lock);
	e = fds_send(sock, b, len + 1, NULL, 0);
	free(b);
	for (i = 0; !e && i < p->n; i++) {
		if (p->v[i].src >= 0)
			fds[k++] = p->v[i].src;
		if (k == FDPASS_MAX || (k && i + 1 == p->n))
			e = fds_send(sock, "f", 1, fds, k), k = 0;
	}
	return e;
}

int tree_become(struct spawn_tree *t, unsigned i, struct spawn *sp)
{
	static struct become_hdr h;
	struct spawn_pipes p;
	int sock = t->node[i].sock, e, ends[3];

	sp->keep_src = 1;
	sp->child = i == 0 ? t->child : 0;
	if (spawn_pipes(sp, &p) < 0)
		return -1;
	h = (struct become_hdr){ .core = *sp->core, .userns = sp->userns, .setcreds = sp->setcreds,
				 .loginuid_differs = sp->loginuid_differs, .lend = sp->lend,
				 .nent = sp->fds->n, .nlock = sp->fds->nlock, .maxfd = sp->fds->maxfd,
				 .ctty = sp->fds->ctty, .ctty_fd = sp->fds->ctty_fd, .ctty_fg = sp->fds->ctty_fg };
	ends[0] = p.plan[0], ends[1] = p.status[1], ends[2] = p.err[1];
	if ((e = fds_send(sock, &h, sizeof h, NULL, 0)) < 0 || (e = send_fds(sock, &h, sp->fds)) < 0 ||
	    (e = fds_send(sock, "p", 1, ends, 3)) < 0) {
		errno = -e;
		warn("pid %d: hand it its fds:", sp->core->pid);
		close(p.plan[0]), close(p.status[1]), close(p.err[1]), close(p.err[0]);
		return -1;
	}
	/* its ends are its own now; its word comes later (spawn_exec_said) */
	close(p.plan[0]), close(p.status[1]), close(p.err[1]);
	sp->err_r = p.err[0];
	return 0;
}

/* a process of the tree is still there, a zombie too */
static int tree_alive(const struct spawn_tree *t)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (t->node[i].made && kill(t->node[i].m->pid, 0) == 0)
			return 1;
	return 0;
}

void tree_kill(struct spawn_tree *t)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned i, tries;

	if (t->child <= 0)
		return;
	kill(t->child, SIGKILL);
	for (i = 0; !t->newns && i < t->n; i++)
		if (t->node[i].made)
			kill(t->node[i].m->pid, SIGKILL);
	waitpid(t->child, NULL, 0);
	t->child = 0;
	/* the others come to us as orphans (tree_build), one by one */
	for (tries = 0; !t->newns && tries < 300 && tree_alive(t); tries++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		nanosleep(&ts, NULL);
	}
}

void tree_free(struct spawn_tree *t)
{
	unsigned i;

	for (i = 0; i < t->n; i++) {
		if (t->node[i].sock >= 0)
			close(t->node[i].sock);
		if (t->node[i].peer >= 0)
			close(t->node[i].peer);
	}
	free(t->node);
	t->node = NULL;
	t->n = 0;
}
