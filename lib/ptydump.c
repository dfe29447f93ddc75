/* ptydump.c - a pseudo-terminal's fds described (ptydump.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "io.h"
#include "pty.h"
#include "ptydump.h"

enum fd_kind pty_kind(const struct fd_desc *d)
{
	/* an O_PATH fd opens no terminal: a device like any other */
	if (d->flags & O_PATH)
		return FD_CHR;
	if (d->st.st_rdev == makedev(5, 2))
		return FD_PTMX;
	return pty_index_of(d->st.st_rdev) >= 0 ? FD_PTS : FD_CHR;
}

/* termios and window size: a master's ioctls act on its slave, so
 * both ends say the pair's */
static void state_add(struct fd_desc *d)
{
	char t[256];
	struct termios tio;
	struct winsize ws;

	if (tcgetattr(d->local, &tio) == 0 && pty_termios_text(&tio, t, sizeof t) == 0)
		extra_add(d, " termios=%s", t);
	if (ioctl(d->local, TIOCGWINSZ, &ws) == 0 && pty_winsize_text(&ws, t, sizeof t) == 0)
		extra_add(d, " winsize=%s", t);
}

void pty_describe(struct fd_desc *d)
{
	int n = -1, lock = 0, pkt = 0;
	pid_t sid = 0, fg = 0;

	extra_add(d, " rdev=%u:%u", major(d->st.st_rdev), minor(d->st.st_rdev));
	if (d->kind == FD_PTS)
		n = pty_index_of(d->st.st_rdev);
	else if (ioctl(d->local, TIOCGPTN, &n) < 0)
		n = -1;
	d->pty = n;
	if (n < 0)
		return;
	extra_add(d, " pty=%d", n);
	if (d->kind == FD_PTMX) {
		ioctl(d->local, TIOCGPTLCK, &lock);
		ioctl(d->local, TIOCGPKT, &pkt);
		extra_add(d, " lock=%d pkt=%d", !!lock, !!pkt);
		/* the session the slave is the controlling terminal of, and
		 * its foreground group (a master may ask: its slave's) */
		if (ioctl(d->local, TIOCGSID, &sid) == 0 && sid > 0) {
			ioctl(d->local, TIOCGPGRP, &fg);
			extra_add(d, " sid=%d fg=%d", (int)sid, (int)fg);
		}
	}
	state_add(d);
}

char *pty_queue_copy(const struct fd_desc *d, size_t *len, int *err)
{
	struct pty_queue q;
	char *text = NULL;
	int slave, e;

	*len = 0;
	*err = 0;
	/* our own open of the slave: its O_NONBLOCK is ours.  A locked
	 * pair's slave cannot be opened, and has nothing queued */
	slave = ioctl(d->local, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave < 0)
		return NULL;
	e = pty_queue_take(d->local, slave, &q);
	close(slave);
	if (e < 0)
		*err = e;
	else if ((q.nin || q.nout) && !(text = pty_queue_text(&q, len)))
		*err = -ENOMEM;
	free(q.in);
	free(q.out);
	return text;
}

int pty_ctty_of(pid_t pid, dev_t *tty, pid_t *tpgid)
{
	char path[64], *text, *p;
	unsigned long long nr;
	int fg, r = -1;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(text = read_file(path, NULL)))
		return -1;
	/* after the comm's closing parenthesis: state ppid pgrp session
	 * tty_nr tpgid */
	if ((p = strrchr(text, ')')) && sscanf(p + 1, " %*c %*d %*d %*d %llu %d", &nr, &fg) == 2 && nr) {
		*tty = (dev_t)nr;
		*tpgid = fg;
		r = 0;
	}
	free(text);
	return r;
}
