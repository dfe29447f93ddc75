/* ptyrelay.c - ckpt-thaw --pty: the job on a new terminal (ptyrelay.h) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "ptyrelay.h"

/* how long the job's last output may take to reach the master after
 * ckpt-thaw's child ended, when a process still holds the slave */
#define DRAIN_MS 200

struct relay {
	int master;             /* -1 once closed (stdout went away: a hangup) */
	int sig;                /* signalfd */
	int in;                 /* 0 while stdin is read, else -1 */
	int in_eof;             /* stdin ended: its end not yet typed */
	int master_eio;         /* no slave open at the moment */
	pid_t child;
	char buf[4096];         /* from stdin, not yet in the master */
	size_t len, off;
	struct termios outer;   /* the caller's terminal before raw mode */
	int outer_raw;
};

static int sigs_of(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGCHLD);
	sigaddset(s, SIGWINCH);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGHUP);
	sigaddset(s, SIGINT);
	return sigaddset(s, SIGQUIT);
}

/* the caller's terminal as it was */
static void outer_back(struct relay *r)
{
	if (r->outer_raw)
		tcsetattr(0, TCSAFLUSH, &r->outer);
	r->outer_raw = 0;
}

static _Noreturn void finish(struct relay *r, int st)
{
	outer_back(r);
	if (WIFSIGNALED(st))
		exit(128 + WTERMSIG(st));
	exit(WEXITSTATUS(st));
}

/* one read of the master to stdout: 0, or -1 at EIO/EOF/nothing yet */
static int out_once(struct relay *r)
{
	char b[16384];
	ssize_t n = read(r->master, b, sizeof b);

	if (n < 0 && errno == EIO)
		r->master_eio = 1;
	if (n <= 0)
		return -1;
	r->master_eio = 0;
	if (write_all(1, b, n) < 0) {
		/* nobody reads what the terminal shows: it hangs up, as a
		 * terminal window closed does (SIGHUP to the job) */
		close(r->master);
		r->master = -1;
	}
	return 0;
}

/* the child ended: what the job wrote last, then its status */
static _Noreturn void drain(struct relay *r, int st)
{
	struct pollfd p;

	while (r->master >= 0) {
		p = (struct pollfd){ .fd = r->master, .events = POLLIN };
		if (poll(&p, 1, DRAIN_MS) <= 0 || out_once(r) < 0)
			break;
	}
	finish(r, st);
}

/* a signal to the caller's process: the child's end, a new size of
 * the caller's terminal, or one for the job */
static void on_signal(struct relay *r)
{
	struct signalfd_siginfo si;
	struct winsize w;
	struct termios t;
	pid_t pid;
	int st;

	if (read(r->sig, &si, sizeof si) != sizeof si)
		return;
	switch (si.ssi_signo) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == r->child)
				drain(r, st);
		break;
	case SIGWINCH:
		if (r->master >= 0 && ioctl(0, TIOCGWINSZ, &w) == 0)
			ioctl(r->master, TIOCSWINSZ, &w);
		break;
	case SIGINT:
	case SIGQUIT:
		/* as if typed: the terminal signals its foreground group */
		if (r->master >= 0 && tcgetattr(r->master, &t) == 0) {
			char c = t.c_cc[si.ssi_signo == SIGINT ? VINTR : VQUIT];

			if (c != _POSIX_VDISABLE && write(r->master, &c, 1) < 0)
				break;
		}
		break;
	default:   /* SIGTERM, SIGHUP: ckpt-thaw passes them to the job */
		kill(r->child, si.ssi_signo);
	}
}

/* stdin's bytes into the master; at its end, the end-of-file character
 * once, as typed, when the terminal reads lines */
static void in_flush(struct relay *r)
{
	struct termios t;
	ssize_t n;
	char c;

	if (r->len > r->off) {
		n = write(r->master, r->buf + r->off, r->len - r->off);
		if (n > 0)
			r->off += n;
		if (r->off == r->len)
			r->off = r->len = 0;
		return;
	}
	if (r->in_eof && tcgetattr(r->master, &t) == 0 && (t.c_lflag & ICANON) &&
	    (c = t.c_cc[VEOF]) != _POSIX_VDISABLE && write(r->master, &c, 1) == 1)
		r->in_eof = 0;
	else if (r->in_eof)
		r->in_eof = 0;   /* no line discipline to end: nothing */
}

static void in_read(struct relay *r)
{
	ssize_t n = read(0, r->buf, sizeof r->buf);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		r->in = -1;
		r->in_eof = 1;
		return;
	}
	r->len = n;
	r->off = 0;
}

static _Noreturn void relay(struct relay *r)
{
	struct pollfd p[3];
	int busy;

	for (;;) {
		busy = r->len > r->off || r->in_eof;
		p[0] = (struct pollfd){ .fd = r->sig, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = r->master_eio ? -1 : r->master,
					.events = POLLIN | (busy ? POLLOUT : 0) };
		p[2] = (struct pollfd){ .fd = busy ? -1 : r->in, .events = POLLIN };
		if (poll(p, 3, r->master_eio ? 100 : -1) < 0 && errno != EINTR)
			die("--pty: poll:");
		if (p[0].revents)
			on_signal(r);
		if (r->master_eio)
			r->master_eio = 0;   /* a slave may be open again: look */
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			out_once(r);
		if (r->master >= 0 && (p[1].revents & POLLOUT))
			in_flush(r);
		if (p[2].revents)
			in_read(r);
	}
}

/* the caller's side: every fd closed but stdio, the master and the
 * signalfd (a chain's ckpt-unpack must see its reader go with the
 * child), then the relay */
static _Noreturn void caller_side(int m, pid_t child, const sigset_t *set, int in_too)
{
	static struct relay r;
	struct termios raw;

	r.child = child;
	r.in = in_too ? 0 : -1;
	int sfd;

	if (dup2(m, 3) < 0 || (sfd = signalfd(-1, set, SFD_CLOEXEC)) < 0 || dup2(sfd, 4) < 0)
		die("--pty: relay:");
	close_range(5, ~0U, 0);
	r.master = 3;
	r.sig = 4;
	fcntl(3, F_SETFL, O_NONBLOCK);
	if (in_too && isatty(0) && tcgetattr(0, &r.outer) == 0) {
		raw = r.outer;
		cfmakeraw(&raw);
		r.outer_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	relay(&r);
}

/* a new master whose slave devpts gives to fsuid and fsgid (its owner
 * is the opener's file ids): the job's, when root */
static int master_as(uid_t uid, gid_t gid)
{
	int root = geteuid() == 0, m, err;

	if (root) {
		setfsgid(gid);
		setfsuid(uid);
	}
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	err = errno;
	if (root) {
		setfsuid(0);
		setfsgid(getegid());
	}
	errno = err;
	return m;
}

int ptyrelay_start(const struct termios *t, const struct winsize *w, int in_too, uid_t uid,
		   gid_t gid)
{
	struct winsize ws = *w;
	struct termios now;
	sigset_t set, old;
	pid_t child;
	int m, s;

	if ((m = master_as(uid, gid)) < 0 || unlockpt(m) < 0)
		die("--pty: a new terminal: /dev/ptmx:");
	if (in_too && isatty(0))
		ioctl(0, TIOCGWINSZ, &ws);
	if (t && tcgetattr(m, &now) == 0) {
		/* the image's flags and characters, the new pair's speeds */
		struct termios set = *t;

		cfsetispeed(&set, cfgetispeed(&now));
		cfsetospeed(&set, cfgetospeed(&now));
		if (tcsetattr(m, TCSANOW, &set) < 0)
			die("--pty: the new terminal's termios:");
	}
	if (ioctl(m, TIOCSWINSZ, &ws) < 0)
		die("--pty: the new terminal's termios and size:");
	/* the signals are the relay's from here: none lost before its
	 * signalfd, none to the child, which sets its own */
	sigs_of(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	if ((child = fork()) < 0)
		die("--pty: fork:");
	if (child > 0)
		caller_side(m, child, &set, in_too);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* not O_CLOEXEC: an open's flags stay the file's, and the job's
	 * fds on it would say so (fdinfo); close-on-exec is set apart */
	if (setsid() < 0 || (s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0 ||
	    fcntl(s, F_SETFD, FD_CLOEXEC) < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		die("--pty: the new terminal as ckpt-thaw's:");
	close(m);
	if (s <= 2) {
		int hi = fcntl(s, F_DUPFD_CLOEXEC, 3);

		if (hi < 0)
			die("--pty: the new terminal:");
		close(s);
		s = hi;
	}
	return s;
}
