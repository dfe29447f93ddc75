/* pty.c - a pseudo-terminal's state in text, and its queued bytes
 * taken and put back (pty.h).
 *
 * A terminal has no peek: the bytes queued each way are read out and
 * written back.  Those for the slave's reader were typed and went
 * through its input processing (echo, ICRNL, erase, signals), so they
 * are written back into the master with that processing off, then
 * the termios as it was: the reader finds them as they were, complete
 * lines as lines and a partial one still partial.  Those for the
 * master's reader went through the slave's output processing (ONLCR)
 * when written: they are written back into the slave with OPOST off.
 * Input processing runs later, in the kernel's flush work: the refill
 * waits until the slave's reader can count them (FIONREAD) before the
 * termios goes back. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "pty.h"

#define WAIT_MS 2000   /* for the kernel's flush work, at most */

int pty_termios_text(const struct termios *t, char *buf, size_t len)
{
	int n = snprintf(buf, len, "0x%x,0x%x,0x%x,0x%x,%u,", (unsigned)t->c_iflag,
			 (unsigned)t->c_oflag, (unsigned)t->c_cflag, (unsigned)t->c_lflag,
			 (unsigned)t->c_line);
	size_t i;

	if (n < 0 || (size_t)n + 2 * NCCS >= len)
		return -1;
	for (i = 0; i < NCCS; i++)
		snprintf(buf + n + 2 * i, 3, "%02x", (unsigned char)t->c_cc[i]);
	return 0;
}

/* the next comma-ended number of base at *s: 0, or -1 */
static int field(const char **s, int base, uint64_t max, uint64_t *v)
{
	const char *end = *s + strlen(*s);

	if (base == 16 && !strncmp(*s, "0x", 2))
		*s += 2;
	if (num_scan(s, end, base, max, v) < 0 || **s != ',')
		return -1;
	(*s)++;
	return 0;
}

int pty_termios_parse(const char *s, struct termios *t)
{
	uint64_t v[5], c;
	const char *p;
	int i;

	for (i = 0; i < 5; i++)
		if (field(&s, i < 4 ? 16 : 10, i < 4 ? NUM_U32_MAX : 255, &v[i]) < 0)
			return -1;
	if (strlen(s) != 2 * NCCS)
		return -1;
	t->c_iflag = v[0], t->c_oflag = v[1], t->c_cflag = v[2], t->c_lflag = v[3];
	t->c_line = v[4];
	for (i = 0; i < NCCS; i++) {
		p = s + 2 * i;
		if (num_scan(&p, s + 2 * i + 2, 16, 255, &c) < 0 || p != s + 2 * i + 2)
			return -1;
		t->c_cc[i] = c;
	}
	return 0;
}

int pty_winsize_text(const struct winsize *w, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u,%u,%u,%u", w->ws_row, w->ws_col, w->ws_xpixel, w->ws_ypixel);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int pty_winsize_parse(const char *s, struct winsize *w)
{
	uint64_t v[4];
	const char *p = s, *end = s + strlen(s);
	int i;

	for (i = 0; i < 4; i++) {
		if (num_scan(&p, end, 10, 0xffff, &v[i]) < 0 || (i < 3 ? *p++ != ',' : p != end))
			return -1;
	}
	*w = (struct winsize){ v[0], v[1], v[2], v[3] };
	return 0;
}

int pty_index_of(dev_t rdev)
{
	unsigned maj = major(rdev);

	return maj >= 136 && maj <= 143 ? (int)((maj - 136) * 256 + minor(rdev)) : -1;
}

/* bytes fd's reader can take now, after the kernel's pending flush
 * work (a poll with nothing readable waits for it): -1 on error */
static int queued(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	poll(&p, 1, 0);
	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

static void ms_sleep(void)
{
	struct timespec ts = { 0, 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* all of b into fd, waiting (bounded) while a terminal's buffer is full */
static int put_all(int fd, const char *b, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n) {
		if ((w = write(fd, b, n)) < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (w < 0 && errno == EAGAIN && poll(&p, 1, WAIT_MS) <= 0)
			return -EAGAIN;
		if (w > 0)
			b += w, n -= w;
	}
	return 0;
}

/* what fd's reader can take, without waiting, appended to *buf; a
 * master in packet mode (pkt) gives each read a status byte first:
 * data (TIOCPKT_DATA) keeps what follows, a bare status is dropped */
static int drain(int fd, int pkt, char **buf, size_t *len)
{
	static char chunk[8192];
	char *nb;
	ssize_t r;
	int n;

	while ((n = queued(fd)) > 0) {
		if ((r = read(fd, chunk, sizeof chunk)) < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r == 0 || (pkt && chunk[0] != TIOCPKT_DATA))
			continue;
		if (!(nb = realloc(*buf, *len + r)))
			return -ENOMEM;
		*buf = nb;
		memcpy(nb + *len, chunk + !!pkt, r - !!pkt);
		*len += r - !!pkt;
	}
	return n < 0 ? -errno : 0;
}

static int is_line_end(const struct termios *t, char c)
{
	return c == '\n' || (t->c_cc[VEOL] && c == (char)t->c_cc[VEOL]) ||
	       (t->c_cc[VEOL2] && c == (char)t->c_cc[VEOL2]) ||
	       (t->c_cc[VEOF] && c == (char)t->c_cc[VEOF]);
}

static int append(struct pty_queue *q, const char *b, size_t n)
{
	char *nb = realloc(q->in, q->nin + n);

	if (!nb)
		return -ENOMEM;
	q->in = nb;
	memcpy(nb + q->nin, b, n);
	q->nin += n;
	return 0;
}

/* A canonical reader's complete lines, one read each (a line fits in
 * the kernel's 4096 bytes): one that ends without a line end was ended
 * by VEOF, which the kernel keeps as a mark, not a byte; an empty read
 * is that mark alone.  The mark comes back as the VEOF character, which
 * the refill leaves active (our own fd is O_NONBLOCK). */
static int take_lines(int slave, const struct termios *t, struct pty_queue *q)
{
	static char line[4096 + 1];
	char eof = t->c_cc[VEOF];
	ssize_t r;
	int e, n = 0;

	while (n++ < 4096 && queued(slave) >= 0) {
		if ((r = read(slave, line, sizeof line - 1)) < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r == 0 && !eof)
			return 0;
		if ((e = append(q, line, r)) < 0)
			return e;
		if ((r == 0 || !is_line_end(t, line[r - 1])) && eof && (e = append(q, &eof, 1)) < 0)
			return e;
	}
	return 0;
}

/* the slave's input queue: its complete lines as a canonical reader
 * reads them, then, with ICANON off, the partial line after them */
static int take_in(int slave, struct pty_queue *q)
{
	struct termios orig, t;
	char *rest = NULL;
	size_t nrest = 0;
	int e;

	if (tcgetattr(slave, &orig) < 0)
		return -errno;
	if ((orig.c_lflag & ICANON) && (e = take_lines(slave, &orig, q)) < 0)
		return e;
	t = orig;
	t.c_lflag &= ~ICANON;
	t.c_cc[VMIN] = 0, t.c_cc[VTIME] = 0;
	if (tcsetattr(slave, TCSANOW, &t) < 0)
		return -errno;
	e = drain(slave, 0, &rest, &nrest);
	if (!e && nrest)
		e = append(q, rest, nrest);
	free(rest);
	if (tcsetattr(slave, TCSANOW, &orig) < 0 && !e)
		e = -errno;
	return e;
}

int pty_queue_take(int master, int slave, struct pty_queue *q)
{
	int pkt = 0, e;

	memset(q, 0, sizeof *q);
	ioctl(master, TIOCGPKT, &pkt);
	if ((e = drain(master, pkt, &q->out, &q->nout)) < 0 || (e = take_in(slave, q)) < 0 ||
	    (e = pty_queue_put(master, slave, q)) < 0)
		return e;
	return 0;
}

/* the bytes of b that a canonical reader can count once they are in
 * (FIONREAD): those of its complete lines, VEOF marks not counted */
static size_t canon_count(const struct termios *t, const char *b, size_t n)
{
	size_t i = n, k, c = 0;

	if (!(t->c_lflag & ICANON))
		return n;
	while (i > 0 && !is_line_end(t, b[i - 1]))
		i--;
	for (k = 0; k < i; k++)
		c += !(t->c_cc[VEOF] && b[k] == (char)t->c_cc[VEOF]);
	return c;
}

static int put_in(int master, int slave, const char *b, size_t n)
{
	/* VEOF stays: take_lines wrote a line ended by it so */
	static const int special[] = { VERASE, VKILL, VWERASE, VREPRINT, VLNEXT, VDISCARD };
	struct termios orig, t;
	int e, have, tries = 0;
	size_t want, i;

	if (tcgetattr(slave, &orig) < 0)
		return -errno;
	t = orig;
	/* IXON, VSTART and VSTOP stay: a change would tell a master in
	 * packet mode of a flow-control change */
	t.c_iflag &= ~(INLCR | IGNCR | ICRNL | IUCLC | ISTRIP | PARMRK | BRKINT);
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | ISIG | IEXTEN);
	for (i = 0; i < sizeof special / sizeof *special; i++)
		t.c_cc[special[i]] = _POSIX_VDISABLE;
	if ((have = queued(slave)) < 0 || tcsetattr(slave, TCSANOW, &t) < 0)
		return -errno;
	want = have + canon_count(&orig, b, n);
	e = put_all(master, b, n);
	while (!e && (have = queued(slave)) >= 0 && (size_t)have < want && tries++ < WAIT_MS)
		ms_sleep();
	if (!e && (size_t)have < want)
		e = -ETIMEDOUT;
	if (tcsetattr(slave, TCSANOW, &orig) < 0 && !e)
		e = -errno;
	return e;
}

/* output processing is done as the slave writes: with OPOST off the
 * bytes reach the master as they are */
static int put_out(int slave, const char *b, size_t n)
{
	struct termios orig, t;
	int e;

	if (tcgetattr(slave, &orig) < 0)
		return -errno;
	t = orig;
	t.c_oflag &= ~OPOST;
	if (tcsetattr(slave, TCSANOW, &t) < 0)
		return -errno;
	e = put_all(slave, b, n);
	if (tcsetattr(slave, TCSANOW, &orig) < 0 && !e)
		e = -errno;
	return e;
}

int pty_queue_put(int master, int slave, const struct pty_queue *q)
{
	int e = 0;

	if (q->nin)
		e = put_in(master, slave, q->in, q->nin);
	if (!e && q->nout)
		e = put_out(slave, q->out, q->nout);
	return e;
}

char *pty_queue_text(const struct pty_queue *q, size_t *len)
{
	char head[64], *t;
	int n = snprintf(head, sizeof head, "in %zu out %zu\n", q->nin, q->nout);

	if (!(t = malloc(n + q->nin + q->nout + 1)))
		return NULL;
	memcpy(t, head, n);
	if (q->nin)
		memcpy(t + n, q->in, q->nin);
	if (q->nout)
		memcpy(t + n + q->nin, q->out, q->nout);
	*len = n + q->nin + q->nout;
	return t;
}

int pty_queue_parse(const char *text, size_t len, struct pty_queue *q)
{
	const char *p = text, *end = text + len;
	uint64_t in, out;

	memset(q, 0, sizeof *q);
	if (len < 3 || strncmp(p, "in ", 3))
		return -1;
	p += 3;
	if (num_scan(&p, end, 10, len, &in) < 0 || end - p < 5 || strncmp(p, " out ", 5))
		return -1;
	p += 5;
	if (num_scan(&p, end, 10, len, &out) < 0 || p >= end || *p++ != '\n' ||
	    (uint64_t)(end - p) != in + out)
		return -1;
	q->in = (char *)p, q->nin = in;
	q->out = (char *)p + in, q->nout = out;
	return 0;
}
