/* tcpcount - one end of a TCP conversation, run under ckpt-run, whose
 * other end is a program outside the job (t/progs/tcppeer.py), for
 * t/tcprepair.bats.
 *
 * tcpcount connect ADDR PORT: connects to ADDR:PORT;
 * tcpcount accept ADDR PORT: listens there, takes one connection (and
 * keeps its listener open).
 * Then, for each line the peer sends:
 *   "N"        answers "N+1" (it says "got N");
 *   "sleep S"  sleeps S seconds before reading on (what the peer sends
 *              meanwhile waits in our receive queue);
 *   "blob N"   sends N bytes, byte i being 'a' + i % 26, then "\n"
 *              (what the peer does not read waits in our send queue);
 *   "take N"   reads N bytes and "\n", byte i being 'a' + i % 26 (it
 *              says "took N ok", or FAIL);
 *   "dK"       the K-th line of a drip, K the one after the last
 *              (else FAIL); "dend N": the last was N ("drip ok N");
 *   "filter"   attaches a socket filter of its own that takes every
 *              segment (it says "filtered");
 *   "shutwr"   shuts its writing (shutdown SHUT_WR: "shut"); then a
 *              number is only said ("got N"), not answered;
 *   "quit"     says "done ok" and exits 0.
 * The peer's end of its writing (EOF): "peer shut", then on SIGUSR1 it
 * reads once more ("eof again", or FAIL), sends "bye" and exits 0 ("done
 * ok"): a half-closed connection, whose other way still works.
 * Says "pid P", "ready tcpcount" once connected (accept: "ready tcpcount
 * listening" once it listens, "accepted" once the peer came). */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ADDR:PORT of either family */
static socklen_t addr_of(const char *host, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(port));
		return sizeof *in;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
		errno = EINVAL, fail("address");
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(atoi(port));
	return sizeof *in6;
}

static int conn_open(const char *how, const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(host, port, &ss);
	int s = socket(ss.ss_family, SOCK_STREAM, 0), one = 1, c;

	if (s < 0)
		fail("socket");
	if (!strcmp(how, "connect")) {
		if (connect(s, (struct sockaddr *)&ss, len) < 0)
			fail("connect");
		return s;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 4) < 0)
		fail("bind, listen");
	printf("ready tcpcount listening\n");
	if ((c = accept(s, NULL, NULL)) < 0)
		fail("accept");
	printf("accepted\n");
	return c;   /* s stays open: a listener of the job */
}

static void write_all(int s, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(s, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("write");
		buf += n;
		len -= n;
	}
}

/* one line from s, without its newline: its length, or -1 at the end */
static int line_read(int s, char *line, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(s, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("read");
		if (r == 0)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			line[n++] = c;
	}
	line[n] = 0;
	return n;
}

static void snooze(unsigned secs)
{
	struct timespec t = { secs, 0 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static void blob(int s, size_t n)
{
	static char buf[1 << 16];
	size_t i, k, off = 0;

	while (off < n) {
		k = n - off < sizeof buf ? n - off : sizeof buf;
		for (i = 0; i < k; i++)
			buf[i] = 'a' + (off + i) % 26;
		write_all(s, buf, k);
		off += k;
	}
	write_all(s, "\n", 1);
}

/* n bytes of the pattern, and "\n", from s */
static void take(int s, size_t n)
{
	static char buf[1 << 16];
	size_t off = 0, i, k;
	ssize_t r;

	while (off <= n) {
		k = n + 1 - off < sizeof buf ? n + 1 - off : sizeof buf;
		r = read(s, buf, k);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("read");
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] != (off + i == n ? '\n' : 'a' + (char)((off + i) % 26))) {
				printf("FAIL take %zu: byte %zu differs\n", n, off + i);
				exit(1);
			}
		off += r;
	}
	printf("took %zu ok\n", n);
}

/* a line of the peer's drip: each comes once, in order */
static void drip(const char *line)
{
	static long last;
	long k;

	if (!strncmp(line, "dend ", 5)) {
		k = strtol(line + 5, NULL, 10);
		if (k != last) {
			printf("FAIL drip: %ld lines came of %ld\n", last, k);
			exit(1);
		}
		printf("drip ok %ld\n", k);
		last = 0;
		return;
	}
	k = strtol(line + 1, NULL, 10);
	if (k != last + 1) {
		printf("FAIL drip: line %ld after line %ld\n", k, last);
		exit(1);
	}
	last = k;
}

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

/* the peer shut its writing: the other way goes on, on SIGUSR1 */
static int peer_shut(int s)
{
	char c;

	printf("peer shut\n");
	while (!usr1)
		snooze(1);
	if (read(s, &c, 1) != 0)
		fail("a read after the peer's end");
	printf("eof again\n");
	write_all(s, "bye\n", 4);
	printf("done ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char line[256], out[32];
	long n;
	int s, shut = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	if (argc != 4 || (strcmp(argv[1], "connect") && strcmp(argv[1], "accept"))) {
		fprintf(stderr, "usage: tcpcount connect|accept ADDR PORT\n");
		return 2;
	}
	printf("pid %d\n", (int)getpid());
	s = conn_open(argv[1], argv[2], argv[3]);
	if (!strcmp(argv[1], "connect"))
		printf("ready tcpcount\n");
	while (line_read(s, line, sizeof line) >= 0) {
		if (!strncmp(line, "sleep ", 6)) {
			printf("sleeping\n");
			snooze(atoi(line + 6));
		} else if (!strncmp(line, "blob ", 5)) {
			blob(s, strtoul(line + 5, NULL, 10));
			printf("blob sent\n");
		} else if (!strncmp(line, "take ", 5)) {
			take(s, strtoul(line + 5, NULL, 10));
		} else if (!strcmp(line, "filter")) {
			struct sock_filter all = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
			struct sock_fprog prog = { 1, &all };

			if (setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
				fail("SO_ATTACH_FILTER");
			printf("filtered\n");
		} else if (line[0] == 'd') {
			drip(line);
		} else if (!strcmp(line, "shutwr")) {
			if (shutdown(s, SHUT_WR) < 0)
				fail("shutdown");
			shut = 1;
			printf("shut\n");
		} else if (!strcmp(line, "quit")) {
			printf("done ok\n");
			return 0;
		} else if (shut) {
			printf("got %ld\n", strtol(line, NULL, 10));
		} else {
			n = strtol(line, NULL, 10);
			printf("got %ld\n", n);
			write_all(s, out, snprintf(out, sizeof out, "%ld\n", n + 1));
		}
	}
	return peer_shut(s);
}
