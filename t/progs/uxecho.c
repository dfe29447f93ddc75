/* uxecho - a unix socket server and its client, a child, mid-
 * conversation over a named socket: uxecho TYPE ADDR [bound], TYPE
 * stream or seqpacket, ADDR a path or @NAME (an abstract name); with
 * "bound" the child's two sockets are bound first, to ADDR.c and
 * ADDR.w, names of their own.  The parent
 * listens on ADDR (backlog 8); the child connects twice: its first
 * connection the parent accepts (the conversation), the second waits
 * in the backlog, never accepted before a checkpoint.  Each side
 * first sends Q messages the other does not read yet, so that at a
 * checkpoint bytes are queued both ways; then "ready".
 *
 * SIGUSR1: a round.  Each side checks the names (the listener's and
 * the accepted socket's own address, the client's peer address are
 * ADDR), sends Q more and reads what the other sent but its last Q,
 * each message whole and in order.  The child then connects anew and
 * says "new R" on it.  The parent accepts: in round 1 first the
 * waiting connection (it tells it "waited"), then, every round, the
 * new one (it reads "new R" and answers "hello R"), so a connection
 * that was lost, or came in another order, fails.  "parent round R ok
 * got N", "child round R ok got N", then "verify ok".  SIGTERM: a last
 * round that reads everything, and then nothing more may be queued;
 * "done ok". */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "prog.h"

#define Q 20

struct side {
	const char *who;
	int type, conv;            /* SOCK_*, the conversation's socket */
	int listener, waiting;     /* the parent's; the child's second */
	unsigned sent, got;
};

static struct sockaddr_un addr, cli, wait_addr;
static socklen_t addr_len, cli_len, wait_len;   /* cli_len 0: unnamed */

/* a stream has no boundaries: 2 length bytes first */
static int msg_send(int fd, int type, const char *m, size_t n)
{
	char b[512];
	size_t len = type == SOCK_STREAM ? n + 2 : n;

	b[0] = (char)(n >> 8);
	b[1] = (char)n;
	memcpy(b + 2, m, n);
	return send(fd, type == SOCK_STREAM ? b : b + 2, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* the next message on fd: its length, or -1 */
static ssize_t msg_recv(int fd, int type, char *b, size_t cap)
{
	ssize_t r;

	if (type == SOCK_STREAM) {
		if (recv_full(fd, b, 2) < 0)
			return -1;
		r = (unsigned char)b[0] << 8 | (unsigned char)b[1];
		return (size_t)r > cap || recv_full(fd, b, r) < 0 ? -1 : r;
	}
	while ((r = recv(fd, b, cap, 0)) < 0 && errno == EINTR)
		;
	return r;
}

/* the next message must be text */
static int text_check(struct side *s, int fd, const char *text)
{
	char b[512];
	ssize_t r = msg_recv(fd, s->type, b, sizeof b - 1);

	if (r < 0 || (size_t)r != strlen(text) || memcmp(b, text, r))
		return printf("FAIL %s: not \"%s\" (%zd bytes: %.*s)\n", s->who, text, r,
			      r > 0 ? (int)r : 0, b), -1;
	return 0;
}

static int text_send(struct side *s, int fd, const char *text)
{
	if (msg_send(fd, s->type, text, strlen(text)) < 0)
		return printf("FAIL %s: send \"%s\": errno %d\n", s->who, text, errno), -1;
	return 0;
}

static int msg_check(struct side *s, char from, unsigned k)
{
	char want[512], got[512];
	size_t n = msg_make(want, from, k);
	ssize_t r = msg_recv(s->conv, s->type, got, sizeof got);

	if (r != (ssize_t)n || memcmp(got, want, n))
		return printf("FAIL %s: message %u: %zd bytes, not %zu, or other bytes\n", s->who, k,
			      r, n), -1;
	return 0;
}

static int send_q(struct side *s, char from)
{
	char b[512];
	unsigned k;

	for (k = s->sent + 1; k <= s->sent + Q; k++)
		if (msg_send(s->conv, s->type, b, msg_make(b, from, k)) < 0)
			return printf("FAIL %s: send %u: errno %d\n", s->who, k, errno), -1;
	s->sent += Q;
	return 0;
}

/* fd's own address (peer 0) or its peer's (1) must be want */
static int name_is(struct side *s, int fd, int peer, const char *what,
		   const struct sockaddr_un *want, socklen_t want_len)
{
	struct sockaddr_un a;
	socklen_t len = sizeof a;
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) :
		       getsockname(fd, (struct sockaddr *)&a, &len);

	if (!want_len)   /* unnamed: the family alone */
		r = r < 0 || len != sizeof(sa_family_t) || a.sun_family != AF_UNIX ? -1 : 0;
	else if (r == 0 && (len != want_len || memcmp(&a, want, len)))
		r = -1;
	if (r < 0)
		return printf("FAIL %s: %s: not the server's address (len %u, %s)\n", s->who, what,
			      (unsigned)len, a.sun_path[0] ? a.sun_path : a.sun_path + 1), -1;
	return 0;
}

static int name_check(struct side *s, int fd, int peer, const char *what)
{
	return name_is(s, fd, peer, what, &addr, addr_len);
}

static int names_check(struct side *s)
{
	if (s->listener >= 0)
		return name_check(s, s->listener, 0, "the listener's name") < 0 ||
		       name_check(s, s->conv, 0, "the accepted socket's name") < 0 ||
		       name_is(s, s->conv, 1, "the client's name", &cli, cli_len) < 0 ? -1 : 0;
	return name_check(s, s->conv, 1, "the conversation's peer name") < 0 ||
	       name_is(s, s->conv, 0, "its own name", &cli, cli_len) < 0 ? -1 : 0;
}

/* nothing more queued: no message came twice */
static int queue_empty(struct side *s)
{
	char b[8];
	ssize_t r = recv(s->conv, b, sizeof b, MSG_DONTWAIT | MSG_PEEK);

	if (r > 0 || (r < 0 && errno != EAGAIN))
		return printf("FAIL %s: more queued than was sent (%zd)\n", s->who, r), -1;
	return 0;
}

/* the parent's connections of round r: the one that waited (round 1),
 * then the child's new one */
static int accepts(struct side *s, unsigned r)
{
	char text[32];
	int fd;

	if (r == 1) {
		if ((fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
			return printf("FAIL parent: accept the waiting one: errno %d\n", errno), -1;
		if (text_send(s, fd, "waited") < 0)
			return -1;
		close(fd);
	}
	if ((fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return printf("FAIL parent: accept a new one: errno %d\n", errno), -1;
	snprintf(text, sizeof text, "new %u", r);
	if (text_check(s, fd, text) < 0)
		return -1;
	snprintf(text, sizeof text, "hello %u", r);
	if (text_send(s, fd, text) < 0)
		return -1;
	close(fd);
	return 0;
}

/* the child's: the one that waited hears "waited" (round 1), a new
 * one says "new R" and hears "hello R" */
static int connects(struct side *s, unsigned r)
{
	char text[32];
	int fd = socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addr_len) < 0)
		return printf("FAIL child: connect anew: errno %d\n", errno), -1;
	snprintf(text, sizeof text, "new %u", r);
	if (text_send(s, fd, text) < 0)
		return -1;
	if (r == 1 && (text_check(s, s->waiting, "waited") < 0 || (close(s->waiting), 0)))
		return -1;
	snprintf(text, sizeof text, "hello %u", r);
	if (text_check(s, fd, text) < 0)
		return -1;
	close(fd);
	return 0;
}

static int round_do(struct side *s, char from, unsigned r)
{
	char other = from == 'p' ? 'c' : 'p';
	unsigned k, upto;

	if (names_check(s) < 0 || send_q(s, from) < 0)
		return -1;
	upto = want_exit ? s->sent : s->sent - Q;
	for (k = s->got + 1; k <= upto; k++)
		if (msg_check(s, other, k) < 0)
			return -1;
	s->got = upto;
	if (want_exit && queue_empty(s) < 0)
		return -1;
	if (!want_exit && (from == 'p' ? accepts(s, r) : connects(s, r)) < 0)
		return -1;
	printf("%s round %u ok got %u\n", s->who, r, s->got);
	return 0;
}

/* a new socket connected to ADDR, bound first to own (len 0: not) */
static int sock_connect(int type, const struct sockaddr_un *own, socklen_t len)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || (len && bind(fd, (const struct sockaddr *)own, len) < 0) ||
	    connect(fd, (struct sockaddr *)&addr, addr_len) < 0)
		return -1;
	return fd;
}

static int round_parent(void *s, unsigned r)
{
	return round_do(s, 'p', r);
}

static int round_child(void *s, unsigned r)
{
	return round_do(s, 'c', r);
}

int main(int argc, char **argv)
{
	struct side s = { .who = "parent", .waiting = -1 };
	int go[2];
	pid_t c;
	char b;

	if (argc < 3 || argc > 4 || (strcmp(argv[1], "stream") && strcmp(argv[1], "seqpacket")) ||
	    strlen(argv[2]) < 2 || strlen(argv[2]) + 2 >= sizeof addr.sun_path ||
	    (argc == 4 && strcmp(argv[3], "bound")))
		return fprintf(stderr, "usage: uxecho stream|seqpacket PATH|@NAME [bound]\n"), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	s.type = strcmp(argv[1], "stream") ? SOCK_SEQPACKET : SOCK_STREAM;
	addr_len = sun_set(&addr, argv[2], "");
	if (argc == 4) {
		cli_len = sun_set(&cli, argv[2], ".c");
		wait_len = sun_set(&wait_addr, argv[2], ".w");
	}
	if ((s.listener = socket(AF_UNIX, s.type | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s.listener, (struct sockaddr *)&addr, addr_len) < 0 || listen(s.listener, 8) < 0)
		return printf("FAIL listen on %s: errno %d\n", argv[2], errno), 1;
	if (pipe2(go, O_CLOEXEC) < 0 || (c = fork()) < 0)
		return printf("FAIL fork: errno %d\n", errno), 1;
	if (c == 0) {
		s.who = "child";
		close(s.listener);
		s.listener = -1;
		if ((s.conv = sock_connect(s.type, &cli, cli_len)) < 0 ||
		    (s.waiting = sock_connect(s.type, &wait_addr, wait_len)) < 0)
			return printf("FAIL child: connect: errno %d\n", errno), 1;
		if (send_q(&s, 'c') < 0 || write(go[1], "g", 1) != 1)
			return 1;
		close(go[0]);
		return rounds_child(round_child, &s, go[1]);
	}
	close(go[1]);
	if ((s.conv = accept4(s.listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return printf("FAIL accept: errno %d\n", errno), 1;
	/* the child's second connection waits in the backlog: it is
	 * there once the child says go */
	if (send_q(&s, 'p') < 0 || read(go[0], &b, 1) != 1)
		return printf("FAIL the child did not get ready\n"), 1;
	printf("pid %d\nchild %d\nready uxecho\n", (int)getpid(), (int)c);
	return rounds_parent(round_parent, &s, c, go[0]);
}
