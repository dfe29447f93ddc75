/* uxdgram - named unix datagram sockets between a parent and its
 * child: uxdgram ADDR, ADDR a path or @NAME.  The parent's socket is
 * bound to ADDR and not connected (a server); the child's is bound to
 * ADDR.c and connected to ADDR, and a second one of the child's,
 * unnamed, is connected to ADDR too.  In each batch the child sends Q
 * messages from each of its two, alternating (the server's queue has
 * both senders, in order), and the parent sends Q to ADDR.c; every
 * batch is left queued until the other side's next round, so at a
 * checkpoint messages are queued both ways.
 *
 * SIGUSR1: a round.  Each side checks the names (its own, and the
 * child's peers), reads the other side's last batch, each message
 * whole, in order and from its sender (recvfrom: ADDR.c, no name, or
 * ADDR), then sends its next batch.  "parent round R ok got N",
 * "child round R ok got N", "verify ok".  SIGTERM: a last round that
 * sends nothing, and then nothing more may be queued; "done ok". */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "prog.h"

#define Q 5

struct side {
	const char *who;
	int fd, anon;              /* the child: bound+connected, unnamed */
	unsigned sent, got;        /* batches */
};

static struct sockaddr_un srv, cli;
static socklen_t srv_len, cli_len;

static int same(const struct sockaddr_un *a, socklen_t alen, const struct sockaddr_un *b,
		socklen_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

/* the message of batch b, number k, from who ('c', 'u', 'p') */
static size_t batch_msg(char *m, char who, unsigned b, unsigned k)
{
	return msg_make(m, who, b * 100 + k);
}

static int send_batch(struct side *s)
{
	char m[512];
	unsigned k, b = ++s->sent;
	size_t n;

	for (k = 1; k <= Q; k++) {
		if (s->anon < 0) {
			n = batch_msg(m, 'p', b, k);
			if (sendto(s->fd, m, n, 0, (struct sockaddr *)&cli, cli_len) != (ssize_t)n)
				return printf("FAIL parent: send %u.%u: errno %d\n", b, k, errno), -1;
			continue;
		}
		n = batch_msg(m, 'c', b, k);
		if (send(s->fd, m, n, 0) != (ssize_t)n)
			return printf("FAIL child: send %u.%u: errno %d\n", b, k, errno), -1;
		n = batch_msg(m, 'u', b, k);
		if (send(s->anon, m, n, 0) != (ssize_t)n)
			return printf("FAIL child: send unnamed %u.%u: errno %d\n", b, k, errno), -1;
	}
	return 0;
}

/* the next message on s->fd: who's number k of batch b, from its name */
static int msg_check(struct side *s, char who, unsigned b, unsigned k)
{
	char want[512], got[512];
	size_t n = batch_msg(want, who, b, k);
	struct sockaddr_un from;
	socklen_t flen = sizeof from;
	ssize_t r;
	int ok;

	memset(&from, 0, sizeof from);
	while ((r = recvfrom(s->fd, got, sizeof got, 0, (struct sockaddr *)&from, &flen)) < 0 &&
	       errno == EINTR)
		;
	ok = who == 'c' ? same(&from, flen, &cli, cli_len) :
	     who == 'p' ? same(&from, flen, &srv, srv_len) : flen == 0;
	if (r != (ssize_t)n || memcmp(got, want, n) || !ok)
		return printf("FAIL %s: message %c %u.%u: %zd bytes (not %zu), other bytes, or from another (len %u)\n",
			      s->who, who, b, k, r, n, (unsigned)flen), -1;
	return 0;
}

static int names_check(struct side *s)
{
	struct sockaddr_un a;
	socklen_t len = sizeof a;
	int bad;

	if (s->anon < 0) {
		bad = getsockname(s->fd, (struct sockaddr *)&a, &len) < 0 || !same(&a, len, &srv, srv_len);
		return bad ? printf("FAIL parent: its name\n"), -1 : 0;
	}
	bad = getsockname(s->fd, (struct sockaddr *)&a, &len) < 0 || !same(&a, len, &cli, cli_len);
	len = sizeof a;
	bad |= getpeername(s->fd, (struct sockaddr *)&a, &len) < 0 || !same(&a, len, &srv, srv_len);
	len = sizeof a;
	bad |= getpeername(s->anon, (struct sockaddr *)&a, &len) < 0 || !same(&a, len, &srv, srv_len);
	return bad ? printf("FAIL child: its names\n"), -1 : 0;
}

/* nothing more queued: no message came twice */
static int queue_empty(struct side *s)
{
	char b[8];
	ssize_t r = recv(s->fd, b, sizeof b, MSG_DONTWAIT | MSG_PEEK);

	if (r >= 0 || errno != EAGAIN)
		return printf("FAIL %s: more queued than was sent (%zd)\n", s->who, r), -1;
	return 0;
}

static int round_do(void *arg, unsigned r)
{
	struct side *s = arg;
	unsigned k, b = ++s->got;

	if (names_check(s) < 0)
		return -1;
	for (k = 1; k <= Q; k++) {
		if (s->anon < 0 && (msg_check(s, 'c', b, k) < 0 || msg_check(s, 'u', b, k) < 0))
			return -1;
		if (s->anon >= 0 && msg_check(s, 'p', b, k) < 0)
			return -1;
	}
	if (want_exit ? queue_empty(s) < 0 : send_batch(s) < 0)
		return -1;
	printf("%s round %u ok got %u\n", s->who, r, s->got * Q);
	return 0;
}

static int dgram(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

int main(int argc, char **argv)
{
	struct side s = { .who = "parent", .anon = -1 };
	int go[2];
	pid_t c;
	char b;

	if (argc != 2 || strlen(argv[1]) < 2 || strlen(argv[1]) + 3 >= sizeof srv.sun_path)
		return fprintf(stderr, "usage: uxdgram PATH|@NAME\n"), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	srv_len = sun_set(&srv, argv[1], "");
	cli_len = sun_set(&cli, argv[1], ".c");
	if ((s.fd = dgram()) < 0 || bind(s.fd, (struct sockaddr *)&srv, srv_len) < 0)
		return printf("FAIL bind %s: errno %d\n", argv[1], errno), 1;
	if (pipe2(go, O_CLOEXEC) < 0 || (c = fork()) < 0)
		return printf("FAIL fork: errno %d\n", errno), 1;
	if (c == 0) {
		s.who = "child";
		close(s.fd);
		if ((s.fd = dgram()) < 0 || bind(s.fd, (struct sockaddr *)&cli, cli_len) < 0 ||
		    connect(s.fd, (struct sockaddr *)&srv, srv_len) < 0 || (s.anon = dgram()) < 0 ||
		    connect(s.anon, (struct sockaddr *)&srv, srv_len) < 0)
			return printf("FAIL child: bind or connect: errno %d\n", errno), 1;
		if (send_batch(&s) < 0 || write(go[1], "g", 1) != 1)
			return 1;
		close(go[0]);
		return rounds_child(round_do, &s, go[1]);
	}
	close(go[1]);
	if (read(go[0], &b, 1) != 1 || send_batch(&s) < 0)
		return printf("FAIL the child did not get ready\n"), 1;
	printf("pid %d\nchild %d\nready uxdgram\n", (int)getpid(), (int)c);
	return rounds_parent(round_do, &s, c, go[0]);
}
