/* sockpair - a parent and its child exchange counted messages over a
 * unix socketpair of each type (stream, dgram, seqpacket), and over a
 * stream pair that the child shut down for writing after a last tail.
 * Each side first sends Q messages the other does not read yet, so
 * that at a checkpoint bytes are queued both ways in every pair; then
 * "ready".  The stream pair's two ends stay open in both processes
 * (one open file each, inherited: share=); the other pairs have one
 * end in each process.  SIGUSR1: a round: each side sends Q more, then
 * reads what the other sent but its last Q (left queued), checking
 * that each arrives whole and in order: "parent round R ok got N" and
 * "child round R ok got N", then "verify ok" once both are done (the
 * child says so on a pipe), or FAIL lines.  SIGTERM: a last round that
 * reads everything, then checks that nothing more is queued (no
 * message came twice) and that the shut pair gives its tail, then its
 * end of file; then "done ok" (the child's status included). */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "prog.h"

#define Q 30
#define NTYPES 3

static const int types[NTYPES] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const names[NTYPES] = { "stream", "dgram", "seqpacket" };
static const char tail[] = "the child's last words";

struct side {
	const char *who;
	int fd[NTYPES];            /* this side's end of each pair */
	int shut;                  /* the shut stream pair's end */
	unsigned sent, got;        /* messages each way, per pair */
	int tail_seen;
};

/* a stream has no boundaries: each message goes as 2 length bytes
 * first, so the reader can tell them apart */
static int msg_send(int fd, int type, char from, unsigned k)
{
	char b[402];
	size_t n = msg_make(b + 2, from, k);
	char *p = type == SOCK_STREAM ? b : b + 2;
	size_t len = type == SOCK_STREAM ? n + 2 : n;

	b[0] = (char)(n >> 8);
	b[1] = (char)n;
	return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* the next message on fd must be k from the other side */
static int msg_check(struct side *s, int t, char from, unsigned k)
{
	char want[402], got[1024];
	size_t n = msg_make(want, from, k);
	ssize_t r;

	if (types[t] == SOCK_STREAM) {
		if (recv_full(s->fd[t], got, 2) < 0 || (size_t)((unsigned char)got[0] << 8 |
							       (unsigned char)got[1]) != n ||
		    recv_full(s->fd[t], got, n) < 0)
			return printf("FAIL %s %s: message %u: not there whole\n", s->who, names[t], k), -1;
	} else {
		while ((r = recv(s->fd[t], got, sizeof got, 0)) < 0 && errno == EINTR)
			;
		if (r != (ssize_t)n)
			return printf("FAIL %s %s: message %u: %zd bytes, not %zu\n", s->who, names[t],
				      k, r, n), -1;
	}
	if (memcmp(got, want, n))
		return printf("FAIL %s %s: message %u: other bytes (%.11s)\n", s->who, names[t], k,
			      got), -1;
	return 0;
}

/* nothing more queued on fd: no message came twice (0: the end of
 * file of a seqpacket pair whose other side is done and gone) */
static int queue_empty(struct side *s, int t)
{
	char b[8];
	ssize_t r = recv(s->fd[t], b, sizeof b, MSG_DONTWAIT | MSG_PEEK);

	if (r > 0 || (r < 0 && errno != EAGAIN))
		return printf("FAIL %s %s: more queued than was sent (%zd)\n", s->who, names[t], r), -1;
	return 0;
}

static int send_q(struct side *s, char from)
{
	unsigned k;
	int t;

	for (k = s->sent + 1; k <= s->sent + Q; k++)
		for (t = 0; t < NTYPES; t++)
			if (msg_send(s->fd[t], types[t], from, k) < 0)
				return printf("FAIL %s %s: send %u: errno %d\n", s->who, names[t], k, errno), -1;
	s->sent += Q;
	return 0;
}

/* the shut pair: the parent reads the tail once, then the end of file;
 * the child cannot send any more */
static int shut_check(struct side *s, char from)
{
	char b[64];
	ssize_t r;

	if (from == 'c')
		return send(s->shut, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE ? 0 :
		       (printf("FAIL child: send on the shut pair: not EPIPE (errno %d)\n", errno), -1);
	if (!s->tail_seen) {
		if (recv_full(s->shut, b, sizeof tail - 1) < 0 || memcmp(b, tail, sizeof tail - 1))
			return printf("FAIL parent: the shut pair's tail is not there\n"), -1;
		s->tail_seen = 1;
	}
	if ((r = recv(s->shut, b, sizeof b, MSG_DONTWAIT)) != 0)
		return printf("FAIL parent: the shut pair: %zd (errno %d), not its end of file\n", r,
			      errno), -1;
	return 0;
}

/* one round: Q more each way, then the other's read but its last Q,
 * which stay queued (for the next checkpoint); the last round
 * (SIGTERM) reads all, and then nothing more may be there */
static int round_do(struct side *s, char from, unsigned round)
{
	char other = from == 'p' ? 'c' : 'p';
	unsigned k, upto;
	int t;

	if (send_q(s, from) < 0)
		return -1;
	upto = want_exit ? s->sent : s->sent - Q;
	for (k = s->got + 1; k <= upto; k++)
		for (t = 0; t < NTYPES; t++)
			if (msg_check(s, t, other, k) < 0)
				return -1;
	s->got = upto;
	for (t = 0; t < NTYPES && want_exit; t++)
		if (queue_empty(s, t) < 0)
			return -1;
	if (want_exit && shut_check(s, from) < 0)
		return -1;
	printf("%s round %u ok got %u\n", s->who, round, s->got);
	fflush(stdout);
	return 0;
}

static int round_parent(void *s, unsigned r)
{
	return round_do(s, 'p', r);
}

static int round_child(void *s, unsigned r)
{
	return round_do(s, 'c', r);
}

int main(void)
{
	struct side s = { .who = "parent" };
	int sv[NTYPES + 1][2], go[2], t;
	pid_t c;
	char b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	for (t = 0; t <= NTYPES; t++)
		if (socketpair(AF_UNIX, (t < NTYPES ? types[t] : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv[t]) < 0)
			return printf("FAIL socketpair: errno %d\n", errno), 1;
	if (pipe2(go, O_CLOEXEC) < 0 || (c = fork()) < 0)
		return printf("FAIL fork: errno %d\n", errno), 1;
	if (c == 0) {
		s.who = "child";
		for (t = 0; t < NTYPES; t++) {
			s.fd[t] = sv[t][1];
			if (t > 0)
				close(sv[t][0]);   /* the stream pair: both ends kept */
		}
		s.shut = sv[NTYPES][1];
		close(sv[NTYPES][0]);
		if (send_q(&s, 'c') < 0 || send(s.shut, tail, sizeof tail - 1, 0) < 0 ||
		    shutdown(s.shut, SHUT_WR) < 0 || write(go[1], "g", 1) != 1)
			return 1;
		close(go[0]);
		return rounds_child(round_child, &s, go[1]);
	}
	for (t = 0; t < NTYPES; t++) {
		s.fd[t] = sv[t][0];
		if (t > 0)
			close(sv[t][1]);
	}
	s.shut = sv[NTYPES][0];
	close(sv[NTYPES][1]);
	close(go[1]);
	if (send_q(&s, 'p') < 0 || read(go[0], &b, 1) != 1)
		return printf("FAIL the child did not get ready\n"), 1;
	printf("pid %d\nchild %d\nready sockpair\n", (int)getpid(), (int)c);
	return rounds_parent(round_parent, &s, c, go[0]);
}
