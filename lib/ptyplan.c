/* ptyplan.c - pseudo-terminal pairs back (ptyplan.h) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "pty.h"
#include "coreread.h"
#include "ptyplan.h"

#define K_O_LARGEFILE 0100000   /* the kernel's; glibc's is 0 on x86-64 */

/* the pair of index n in the job; outside: also one whose slave was
 * taken for a terminal outside the job (master -1) */
static struct pty_pair *pair_find(struct fdjob *job, int n, int outside)
{
	unsigned i;

	for (i = 0; job && i < job->npty; i++)
		if (job->pty[i].index == n && (outside || job->pty[i].master >= 0))
			return &job->pty[i];
	return NULL;
}

static struct pty_pair *pair_add(struct fdjob *job, int n)
{
	struct pty_pair *np = realloc(job->pty, (job->npty + 1) * sizeof *np);

	if (!np)
		return NULL;
	job->pty = np;
	np += job->npty++;
	*np = (struct pty_pair){ .index = n, .master = -1, .slave = -1 };
	return np;
}

/* the master line of pty n in this process that makes its pair, or NULL */
static struct fdplan_fd *master_here(const struct fdplan *p, int n)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].k == FD_PTMX && p->v[i].pty == n && !p->v[i].share_pid &&
		    p->v[i].dup < 0)
			return &p->v[i];
	return NULL;
}

const char *ptyplan_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	struct termios t;
	struct winsize w;

	(void)p;
	if (e->k == FD_PTMX && e->pty < 0)
		return "a pseudo-terminal master without its index (pty=)";
	if (e->termios[0] && pty_termios_parse(e->termios, &t) < 0)
		return "termios= is not what formats/fds.md says";
	if (e->winsize[0] && pty_winsize_parse(e->winsize, &w) < 0)
		return "winsize= is not what formats/fds.md says";
	return NULL;
}

int ptyplan_in_job(const struct fdplan *p, const struct fdplan_fd *e)
{
	return e->k == FD_PTS && e->pty >= 0 &&
	       (pair_find(p->shared, e->pty, 0) || master_here(p, e->pty));
}

static int refuse(int pid, const struct fdplan_fd *e, const char *why)
{
	warn("pid %d: fd %d: %s pty %d: %s", pid, e->fd, e->kind, e->pty, why);
	errno = ECANCELED;
	return -1;
}

/* the pair's state from the master's line, on the new master: termios
 * and window size (a master's ioctls set its slave's), packet mode;
 * then the queued bytes, through a slave of ckpt-thaw's own */
static int pair_state(struct fdplan *p, struct fdplan_fd *e, struct pty_pair *pp)
{
	struct termios t;
	struct winsize w;
	struct fd_blob *b = blob_find(p, e->data);
	struct pty_queue q;
	int on = 1, e2;

	if (e->termios[0] && (tcgetattr(pp->master, &t) < 0 ||
			      pty_termios_parse(e->termios, &t) < 0 || tcsetattr(pp->master, TCSANOW, &t) < 0))
		return -1;
	if (e->winsize[0] && (pty_winsize_parse(e->winsize, &w) < 0 || ioctl(pp->master, TIOCSWINSZ, &w) < 0))
		return -1;
	if (e->pty_pkt && ioctl(pp->master, TIOCPKT, &on) < 0)
		return -1;
	if (e->data && (!b || !b->bytes || pty_queue_parse(b->bytes, b->len, &q) < 0))
		return errno = EPROTO, -1;
	if (e->data && (e2 = pty_queue_put(pp->master, pp->slave, &q)) < 0)
		return errno = -e2, -1;
	return 0;
}

/* a new pair: /dev/ptmx opened by the job (the new slave is its
 * user's), checked to be the multiplexer, unlocked (locked again at
 * the settle, once every slave is open), and a slave of our own */
static int pair_open(struct fdplan *p, struct pty_pair *pp, int pid)
{
	int fd, unlock = 0;
	struct stat st;

	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, -1;
	if ((fd = jobfs_open(&p->fs, "/dev/ptmx", O_RDWR)) < 0)
		return errno = -fd, -1;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2)) {
		close(fd);
		warn("pid %d: pty %d: /dev/ptmx is not the pseudo-terminal multiplexer (5:2)", pid, pp->index);
		return errno = ECANCELED, -1;
	}
	pp->master = fd;
	if (ioctl(fd, TIOCSPTLCK, &unlock) < 0 ||
	    (pp->slave = ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -1;
	return 0;
}

/* the pair of master line e: made now, or before the tree for the
 * session it is the terminal of (ptyplan_sessions); its state as the
 * line says.  The fd, or -1 with errno (ECANCELED: said) */
static int master_make(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct pty_pair *pp = pair_find(p->shared, e->pty, 1);
	int fd;

	if (pp && pp->master < 0)
		return refuse(pid, e, "its slave came earlier in the stream, as a terminal outside the job: a master after its slave is not restored");
	if (pp && pp->has_line)
		return refuse(pid, e, "a second master of one pair");
	if (!pp && (!(pp = pair_add(p->shared, e->pty)) || pair_open(p, pp, pid) < 0))
		goto fail;
	pp->has_line = 1;
	pp->lock = e->pty_lock;
	pp->sid = e->pty_sid;
	pp->fg = e->pty_fg;
	if ((fd = fcntl(pp->master, F_DUPFD_CLOEXEC, 3)) < 0)
		goto fail;
	if (pair_state(p, e, pp) < 0) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	if (errno != ECANCELED)
		warn("pid %d: fd %d: ptmx pty %d: make it again:", pid, e->fd, e->pty);
	return errno = ECANCELED, -1;
}

int ptyplan_sessions(struct fdjob *job, struct img_manifest *m, struct fdplan *root, pid_t pid)
{
	struct pty_pair *pp;
	unsigned i;

	for (i = 0; i < m->nprocs; i++) {
		if (!m->proc[i].ctty)
			continue;
		if (!(pp = pair_find(job, m->proc[i].ctty - 1, 1))) {
			if (!(pp = pair_add(job, m->proc[i].ctty - 1)))
				return warn("out of memory"), -1;
			if (pair_open(root, pp, pid) < 0) {
				if (errno != ECANCELED)
					warn("pid %d: pty %d: the terminal of session %d:", (int)pid,
					     pp->index, (int)m->proc[i].pid);
				return -1;
			}
		}
		pp->sid = m->proc[i].pid;
		pp->ctty_taken = 1;   /* by the leader, as it is made */
		m->proc[i].ctty_fd = pp->slave;
	}
	return 0;
}

/* a slave of pair pp: its own open of the new slave, never as a
 * controlling terminal here; the session leader takes it itself */
static int slave_open(struct fdplan *p, struct fdplan_fd *e, struct pty_pair *pp, int pid)
{
	/* the flags are the new file's as given: O_LARGEFILE as it had it
	 * (open(2) adds it, an open by the kernel may not), O_CLOEXEC set
	 * on the fd alone (fdinfo would show it as the file's) */
	int fd = ioctl(pp->master, TIOCGPTPEER, (e->flags & (O_ACCMODE | K_O_LARGEFILE)) | O_NOCTTY);

	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	if (pp->sid && pp->sid == pid && !p->ctty) {
		p->ctty = 1;
		p->ctty_fd = e->fd;
		p->ctty_fg = pp->fg;
	}
	return fd;
}

int ptyplan_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fdplan_fd *m;
	struct pty_pair *pp;
	int fd;

	if (!p->shared)
		return errno = EOPNOTSUPP, -1;
	if (e->k == FD_PTMX)
		return master_make(p, e, pid);
	if (e->pty < 0)
		return -2;
	if (!(pp = pair_find(p->shared, e->pty, 0)) && (m = master_here(p, e->pty)) && m->src < 0) {
		/* its master is a higher fd of this process: made first */
		if ((fd = master_make(p, m, pid)) < 0)
			return -1;
		m->src = fd;
		fcntl(fd, F_SETFL, m->flags & (O_NONBLOCK | O_ASYNC));
		pp = pair_find(p->shared, e->pty, 0);
	}
	if (!pp) {   /* a terminal outside the job: a master later is refused */
		if (!pair_find(p->shared, e->pty, 1) && !pair_add(p->shared, e->pty))
			return -1;
		return -2;
	}
	return slave_open(p, e, pp, pid);
}

int ptyplan_settle(struct fdjob *job)
{
	struct pty_pair *pp;
	unsigned i;

	for (i = 0; i < job->npty; i++) {
		pp = &job->pty[i];
		if (pp->master < 0)
			continue;
		if (pp->sid && !pp->ctty_taken)
			return warn("pty %d: the controlling terminal of session %d, which the image does not say (no ctty line): cannot be restored",
				    pp->index, (int)pp->sid), -1;
		if (!pp->has_line)
			return warn("pty %d: the controlling terminal of session %d: no process of the image holds its master",
				    pp->index, (int)pp->sid), -1;
		if (pp->lock && ioctl(pp->master, TIOCSPTLCK, &pp->lock) < 0)
			return warn("pty %d: lock it again:", pp->index), -1;
	}
	ptyplan_free(job);
	return 0;
}

void ptyplan_free(struct fdjob *job)
{
	unsigned i;

	for (i = 0; i < job->npty; i++) {
		if (job->pty[i].slave >= 0)
			close(job->pty[i].slave);
		if (job->pty[i].master >= 0)
			close(job->pty[i].master);
	}
	free(job->pty);
	job->pty = NULL;
	job->npty = 0;
}

int pty_ctty_take(int fd, pid_t fg)
{
	sigset_t ttou, old;
	int e = 0;

	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		return -errno;
	if (!fg)
		return 0;
	/* a session leader outside its foreground group would be sent
	 * SIGTTOU for the change: blocked, the kernel allows it */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (ioctl(fd, TIOCSPGRP, &fg) < 0)
		e = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return e;
}
