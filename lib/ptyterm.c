/* ptyterm.c - the job's own terminal at a restore (ptyterm.h) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "coreread.h"
#include "err.h"
#include "fdplan.h"
#include "pty.h"
#include "ptyplan.h"
#include "ptyrelay.h"
#include "ptyterm.h"

/* the root's line on the terminal it ran on, outside the job: a pts
 * on fds 0-2 that was its controlling terminal, or NULL */
static const struct fdplan_fd *term_line(const struct fdplan *root)
{
	unsigned i;

	for (i = 0; i < root->n && root->v[i].fd <= 2; i++)
		if (root->v[i].k == FD_PTS && root->v[i].pty_ctty && !ptyplan_in_job(root, &root->v[i]))
			return &root->v[i];
	return NULL;
}

int ptyterm_check(const struct fdplan *root, pid_t pgid)
{
	const struct fdplan_fd *e = term_line(root);
	int fd;

	if (!e || e->pty_fg != pgid)
		return 0;   /* in the background, or no terminal: it needs none */
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0)
		return close(fd), 0;
	warn("pid %d: fd %d: pts %s: the job ran in the foreground of this terminal, and ckpt-thaw has no controlling terminal to give it (restore from a terminal)",
	     root->pid, e->fd, e->orig ? e->orig : "");
	return -1;
}

void ptyterm_session(struct img_manifest *m, const struct fdplan *root)
{
	pid_t leader = m->proc[0].pid, sid = getsid(0);
	int fd;
	unsigned i;

	if (m->proc[0].sid != leader || m->proc[0].ctty || !term_line(root) ||
	    (fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return;
	close(fd);
	for (i = 0; i < m->nprocs; i++)
		if (m->proc[i].sid == leader)
			m->proc[i].sid = sid;
}

int ptyterm_new(const struct fdplan *root, const struct img_core *c, int in_too)
{
	const struct fdplan_fd *e = term_line(root);
	struct winsize w = { 24, 80, 0, 0 };
	struct termios t;
	int own = !e || !e->termios[0];

	memset(&t, 0, sizeof t);
	if (!own && pty_termios_parse(e->termios, &t) < 0)
		die("pid %d: fd %d: termios %s: not a terminal's", root->pid, e->fd, e->termios);
	if (e && e->winsize[0] && pty_winsize_parse(e->winsize, &w) < 0)
		die("pid %d: fd %d: winsize %s: not a terminal's", root->pid, e->fd, e->winsize);
	return ptyrelay_start(own ? NULL : &t, &w, in_too, c->uid[3], c->gid[3]);
}

/* SIGTTOU blocked: a process outside the foreground may then set it */
static void fg_set(int fd, pid_t pgid)
{
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (tcsetpgrp(fd, pgid) < 0)
		warn("the terminal's foreground group %d:", (int)pgid);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void ptyterm_take(struct pty_term *pt, const struct fdplan *root, pid_t pid)
{
	const struct fdplan_fd *e = term_line(root);
	pid_t pgid = getpgid(pid);
	struct winsize now, then;
	struct termios t;

	pt->fd = -1;
	pt->pgid = 0;
	if (!e || pgid < 0 || (pt->fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return;
	if (tcgetattr(pt->fd, &pt->saved) < 0) {
		close(pt->fd);
		pt->fd = -1;
		return;
	}
	t = pt->saved;
	if (e->termios[0] && pty_termios_parse(e->termios, &t) == 0 &&
	    tcsetattr(pt->fd, TCSANOW, &t) < 0)
		warn("pid %d: its termios on ckpt-thaw's terminal:", root->pid);
	/* it was the foreground: it is again, if ckpt-thaw was */
	if (e->pty_fg == root->job->pgid && pgid != getpgrp() && tcgetpgrp(pt->fd) == getpgrp()) {
		fg_set(pt->fd, pgid);
		pt->pgid = pgid;
		/* the job runs already: a process of it that touched the
		 * terminal before it was the foreground stopped there
		 * (SIGTTOU, SIGTTIN); it goes on, as a shell's fg does */
		kill(-pgid, SIGCONT);
	}
	/* the job drew for the size it had: a program redraws on SIGWINCH */
	if (e->winsize[0] && pty_winsize_parse(e->winsize, &then) == 0 &&
	    ioctl(pt->fd, TIOCGWINSZ, &now) == 0 &&
	    (now.ws_row != then.ws_row || now.ws_col != then.ws_col))
		kill(pgid != getpgrp() ? -pgid : pid, SIGWINCH);
}

void ptyterm_give_back(struct pty_term *pt)
{
	if (pt->fd < 0)
		return;
	if (pt->pgid)
		fg_set(pt->fd, getpgrp());
	tcsetattr(pt->fd, TCSANOW, &pt->saved);
	close(pt->fd);
	pt->fd = -1;
}
