/* inetcli - TCP connections of a client, in two modes.
 *
 * inetcli out PORT: a client of a line server outside the job on
 * 127.0.0.1:PORT (it answers each line "N" with "pong N"): sends "N"
 * and reads its answer every 20 ms, N counting up across connections.
 * When a read or write fails it says "lost: ERRNO-NAME" and connects
 * again ("connected K", K counting connections from 1).  "ready" after
 * the first answer.  SIGUSR1: "verify ok connections=K pongs=N";
 * SIGTERM: the same as "done ok ...".
 *
 * inetcli pair (pair6: over IPv6; bigpair LINES: LINES lines more
 * queued to the accepted end, past a new socket's buffer; the listener
 * has SO_REUSEADDR, but with pairnoreuse): a connection with both ends in the process (a
 * listener on loopback, a client connected to it, the accepted end),
 * and Q lines sent each way that the other end has not read: bytes
 * queued in both directions; "ready".  SIGUSR1 (and SIGTERM): each
 * end sends R more lines, then reads every line the other sent
 * (blocking, with a timeout), each in order, none twice: "verify ok
 * got C A" (lines each end read so far), else FAIL lines.  The
 * listener accepts a new connection of ours too.
 *
 * inetcli fork: the same connection, its ends in two processes: the
 * parent keeps the accepted end (and the listener), its child the
 * client end, each having sent Q lines and read some of the other's.
 * SIGUSR1 to either: a round of its own (R more lines sent, every
 * line the other has sent by its own round read): "parent round N ok
 * got G" / "child round N ok got G".  SIGTERM to the parent: it ends
 * its child (a last round each), then "done ok". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "prog.h"

#define Q 300
#define R 50

static struct sockaddr_in server_addr(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

/* ---- out ---- */

static int out_connect(int port)
{
	struct sockaddr_in a = server_addr(port);
	int fd, i;

	for (i = 0; i < 500 && !want_exit; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0 &&
		    connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		nap_ms(20);
	}
	return -1;
}

/* "N\n" out, "pong N\n" back: 0, or -errno (-EPROTO: a wrong answer,
 * -ECONNABORTED: the end of file) */
static int ping(int fd, unsigned n)
{
	char b[64], want[64];
	int len = snprintf(b, sizeof b, "%u\n", n), wl = snprintf(want, sizeof want, "pong %u\n", n);
	ssize_t r;
	int got = 0;

	if (send(fd, b, len, MSG_NOSIGNAL) != len)
		return -errno;
	while (got < wl) {
		r = recv(fd, b + got, wl - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNABORTED;
		got += r;
	}
	return memcmp(b, want, wl) ? -EPROTO : 0;
}

static int run_out(int port)
{
	unsigned n = 0, conns = 0;
	int fd = -1, e, ready = 0;

	signals_init();
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	while (!want_exit) {
		if (fd < 0) {
			if ((fd = out_connect(port)) < 0)
				return printf("FAIL connect: %s\n", strerror(errno)), 1;
			printf("connected %u\n", ++conns);
		}
		if ((e = ping(fd, n + 1)) < 0) {
			printf("lost: %s\n", e == -ECONNRESET ? "ECONNRESET" : e == -EPIPE ? "EPIPE" :
			       e == -ECONNABORTED ? "EOF" : strerror(-e));
			fflush(stdout);
			close(fd);
			fd = -1;
			continue;
		}
		n++;
		if (!ready++)
			printf("ready inetcli\n");
		if (want_verify) {
			want_verify = 0;
			printf("verify ok connections=%u pongs=%u\n", conns, n);
		}
		fflush(stdout);
		nap_ms(20);
	}
	printf("done ok connections=%u pongs=%u\n", conns, n);
	return 0;
}

/* ---- pair ---- */

struct end {
	const char *who;
	int fd;
	unsigned sent, got;
	char buf[64];
	size_t have;
};

static int send_lines(struct end *e, unsigned n)
{
	char b[32];
	int len;

	while (n--) {
		len = snprintf(b, sizeof b, "%s%06u\n", e->who, e->sent);
		if (send(e->fd, b, len, MSG_NOSIGNAL) != len)
			return printf("FAIL %s send: %s\n", e->who, strerror(errno)), -1;
		e->sent++;
	}
	return 0;
}

/* every line the other end sent (upto), each the next of its count */
static int read_lines(struct end *e, const struct end *from, unsigned upto)
{
	char want[32];
	struct pollfd pf = { .fd = e->fd, .events = POLLIN };
	char *nl;
	ssize_t r;
	int len;

	while (e->got < upto) {
		if ((nl = memchr(e->buf, '\n', e->have))) {
			len = snprintf(want, sizeof want, "%s%06u\n", from->who, e->got);
			if (nl - e->buf + 1 != len || memcmp(e->buf, want, len))
				return printf("FAIL %s got %.*s, want %s", e->who, (int)(nl - e->buf),
					      e->buf, want), -1;
			e->have -= len;
			memmove(e->buf, e->buf + len, e->have);
			e->got++;
			continue;
		}
		/* a signal (the parent's SIGTERM to its child, come again
		 * from stop_child) is no reason to give up */
		while ((r = poll(&pf, 1, 5000)) < 0 && errno == EINTR)
			;
		if (r != 1)
			return printf("FAIL %s: line %u did not come\n", e->who, e->got), -1;
		r = recv(e->fd, e->buf + e->have, sizeof e->buf - e->have, 0);
		if (r <= 0)
			return printf("FAIL %s recv: %s\n", e->who, r ? strerror(errno) : "EOF"), -1;
		e->have += r;
	}
	return 0;
}

static struct end cli = { "c", -1, 0, 0, "", 0 }, acc = { "a", -1, 0, 0, "", 0 };
static int lis = -1, pair_family = AF_INET, big, reuse = 1;

static int pair_verify(void)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;
	int c = socket(pair_family, SOCK_STREAM, 0), x = -1;

	if (send_lines(&cli, R) < 0 || send_lines(&acc, R) < 0 ||
	    read_lines(&acc, &cli, cli.sent) < 0 || read_lines(&cli, &acc, acc.sent) < 0)
		return -1;
	if (getsockname(lis, (struct sockaddr *)&a, &len) < 0 || c < 0 ||
	    connect(c, (struct sockaddr *)&a, len) < 0 || (x = accept(lis, NULL, NULL)) < 0)
		return printf("FAIL the listener: %s\n", strerror(errno)), -1;
	close(c);
	close(x);
	printf("got %u %u\n", cli.got, acc.got);
	return 0;
}

/* loopback of family, port 0, in *a: its length */
static socklen_t loopback(int family, struct sockaddr_storage *a)
{
	struct sockaddr_in in = server_addr(0);
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	memset(a, 0, sizeof *a);
	if (family == AF_INET6)
		return memcpy(a, &in6, sizeof in6), sizeof in6;
	return memcpy(a, &in, sizeof in), sizeof in;
}

/* Bulk: the client end sends B lines while the accepted end reads them,
 * then K lines more that stay queued, all of them delivered (none left
 * unsent): a queue past a new socket's default buffer.  The reader's
 * buffer is set to 1 MiB (as rmem_max allows): the kernel's own growth
 * of it follows the rate it sees read, which a loaded machine slows,
 * and then 160 kB did not all go in */
static int bulk(unsigned b, unsigned k)
{
	int unsent = 1, i, size = 1 << 20;

	if (setsockopt(acc.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
		return printf("FAIL SO_RCVBUF: %s\n", strerror(errno)), -1;
	while (cli.sent < b) {
		if (send_lines(&cli, 100) < 0 || read_lines(&acc, &cli, cli.sent) < 0)
			return -1;
	}
	if (send_lines(&cli, k) < 0)
		return -1;
	for (i = 0; i < 500 && unsent > 0; i++) {
		if (ioctl(cli.fd, SIOCOUTQNSD, &unsent) < 0)
			return printf("FAIL SIOCOUTQNSD: %s\n", strerror(errno)), -1;
		nap_ms(10);
	}
	if (unsent)
		return printf("FAIL %d bytes not sent\n", unsent), -1;
	return 0;
}

static int run_pair(int family)
{
	struct sockaddr_storage a;
	socklen_t len = loopback(family, &a);

	cli.fd = socket(family, SOCK_STREAM, 0);
	lis = socket(family, SOCK_STREAM, 0);
	if (reuse && setsockopt(lis, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse) < 0)
		return printf("FAIL SO_REUSEADDR: %s\n", strerror(errno)), 1;
	if (lis < 0 || cli.fd < 0 || bind(lis, (struct sockaddr *)&a, len) < 0 ||
	    listen(lis, 4) < 0 || getsockname(lis, (struct sockaddr *)&a, &len) < 0 ||
	    connect(cli.fd, (struct sockaddr *)&a, len) < 0 ||
	    (acc.fd = accept(lis, NULL, NULL)) < 0)
		return printf("FAIL the connection: %s\n", strerror(errno)), 1;
	if (big && bulk(200000, big) < 0)   /* 1.6 MB read, 8 * big bytes queued */
		return 1;
	if (send_lines(&cli, Q) < 0 || send_lines(&acc, Q) < 0)
		return 1;
	/* some read, some left queued: both ways */
	if ((!big && read_lines(&acc, &cli, Q / 3) < 0) || read_lines(&cli, &acc, Q / 2) < 0)
		return 1;
	return serve_verify("inetcli", pair_verify);
}

/* ---- fork ---- */

/* one round of side e, whose peer from has sent Q + R * round lines */
static int fork_round(struct end *e, const struct end *from, unsigned *round, const char *who)
{
	struct end other = *from;

	++*round;
	if (send_lines(e, R) < 0 || read_lines(e, &other, Q + R * *round) < 0)
		return -1;
	printf("%s round %u ok got %u\n", who, *round, e->got);
	return 0;
}

static int fork_side(struct end *e, const struct end *from, const char *who, pid_t child)
{
	unsigned round = 0;

	for (;;) {
		wait_request();
		if (want_exit && child > 0)
			kill(child, SIGTERM);   /* its last round meets ours */
		if (fork_round(e, from, &round, who) < 0)
			return 1;
		if (want_exit)
			return child > 0 && stop_child(child) < 0 ? 1 :
			       (printf(child > 0 ? "done ok\n" : "child done\n"), 0);
		want_verify = 0;
	}
}

static int run_fork(void)
{
	struct sockaddr_in a = server_addr(0);
	socklen_t len = sizeof a;
	pid_t c;

	signals_init();
	cli.fd = socket(AF_INET, SOCK_STREAM, 0);
	lis = socket(AF_INET, SOCK_STREAM, 0);
	if (lis < 0 || cli.fd < 0 || bind(lis, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(lis, 4) < 0 || getsockname(lis, (struct sockaddr *)&a, &len) < 0 ||
	    connect(cli.fd, (struct sockaddr *)&a, len) < 0 ||
	    (acc.fd = accept(lis, NULL, NULL)) < 0)
		return printf("FAIL the connection: %s\n", strerror(errno)), 1;
	if ((c = fork()) < 0)
		return printf("FAIL fork: %s\n", strerror(errno)), 1;
	if (c == 0) {
		close(acc.fd);
		close(lis);
		if (send_lines(&cli, Q) < 0 || read_lines(&cli, &acc, Q / 2) < 0)
			_exit(1);
		printf("child %d\n", (int)getpid());
		_exit(fork_side(&cli, &acc, "child", 0));
	}
	close(cli.fd);
	if (send_lines(&acc, Q) < 0 || read_lines(&acc, &cli, Q / 3) < 0)
		return 1;
	printf("pid %d\nready inetcli\n", (int)getpid());
	return fork_side(&acc, &cli, "parent", c);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "out"))
		return run_out(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "pair"))
		return run_pair(AF_INET);
	if (argc == 2 && !strcmp(argv[1], "pairnoreuse"))
		return reuse = 0, run_pair(AF_INET);
	if (argc == 3 && !strcmp(argv[1], "bigpair") && (big = atoi(argv[2])) > 0)
		return run_pair(AF_INET);
	if (argc == 2 && !strcmp(argv[1], "pair6"))
		return run_pair(pair_family = AF_INET6);
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return run_fork();
	fprintf(stderr, "usage: inetcli out PORT | inetcli pair | inetcli pairnoreuse | inetcli pair6 | inetcli bigpair LINES | inetcli fork\n");
	return 2;
}
