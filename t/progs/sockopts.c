/* sockopts PORT - socket options and half-closed connections that a
 * restore must bring back exactly (issue 13), checked by the program.
 *
 * On 127.0.0.1:PORT a listener L (SO_RCVBUF); a connection c1 -> a1
 * whose client set SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE with
 * TCP_KEEPIDLE/INTVL/CNT, TCP_NODELAY, SO_LINGER and IP_TOS, its
 * accepted end IP_TOS, SO_KEEPALIVE with TCP_KEEPCNT and SO_RCVBUF; a
 * UDP socket with SO_BROADCAST, SO_SNDBUF and IP_TOS; on [::1]:PORT+1
 * a connection whose client set IPV6_TCLASS.  Two half-closed
 * connections: h1 sent "bye" and shut down for writing, h2 sent
 * "back" (both unread: h2 has not seen the end of file); g1 sent "x"
 * and shut down, g2 read it and the end of file.  Each option is read
 * back once set ("opt NAME VALUE").  "ready".
 *
 * SIGUSR1 / SIGTERM: every option reads as it did; the first time, h2
 * reads "bye" then the end of file, writes "more", h1 reads
 * "backmore" and gets EPIPE writing; g2 reads the end of file again,
 * writes "z", g1 reads it: "verify ok", else FAIL lines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include "prog.h"

struct opt {
	const char *name;
	int *fd, level, opt, set, want;
};

static int lst, c1, a1, u, l6, c6, a6, h1, h2, g1, g2, rounds;

static struct opt opts[] = {
	{ "listener.rcvbuf", &lst, SOL_SOCKET, SO_RCVBUF, 50000, 0 },
	{ "c1.sndbuf", &c1, SOL_SOCKET, SO_SNDBUF, 65536, 0 },
	{ "c1.rcvbuf", &c1, SOL_SOCKET, SO_RCVBUF, 98304, 0 },
	{ "c1.keepalive", &c1, SOL_SOCKET, SO_KEEPALIVE, 1, 0 },
	{ "c1.keepidle", &c1, IPPROTO_TCP, TCP_KEEPIDLE, 33, 0 },
	{ "c1.keepintvl", &c1, IPPROTO_TCP, TCP_KEEPINTVL, 7, 0 },
	{ "c1.keepcnt", &c1, IPPROTO_TCP, TCP_KEEPCNT, 4, 0 },
	{ "c1.nodelay", &c1, IPPROTO_TCP, TCP_NODELAY, 1, 0 },
	{ "c1.tos", &c1, IPPROTO_IP, IP_TOS, 0x10, 0 },
	{ "a1.tos", &a1, IPPROTO_IP, IP_TOS, 0x08, 0 },
	{ "a1.keepalive", &a1, SOL_SOCKET, SO_KEEPALIVE, 1, 0 },
	{ "a1.keepcnt", &a1, IPPROTO_TCP, TCP_KEEPCNT, 5, 0 },
	{ "a1.rcvbuf", &a1, SOL_SOCKET, SO_RCVBUF, 70000, 0 },
	{ "udp.broadcast", &u, SOL_SOCKET, SO_BROADCAST, 1, 0 },
	{ "udp.sndbuf", &u, SOL_SOCKET, SO_SNDBUF, 40000, 0 },
	{ "udp.tos", &u, IPPROTO_IP, IP_TOS, 0x20, 0 },
	{ "c6.tclass", &c6, IPPROTO_IPV6, IPV6_TCLASS, 0x28, 0 },
};
#define NOPTS (sizeof opts / sizeof *opts)

static int get(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;

	getsockopt(fd, level, opt, &v, &len);
	return v;
}

static int linger_of(int fd)
{
	struct linger lg = { 0, 0 };
	socklen_t len = sizeof lg;

	getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len);
	return lg.l_onoff ? lg.l_linger : -1;
}

/* the options of fd (one socket) that are set before it connects */
static void set_opts(int *fd)
{
	unsigned i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].fd == fd)
			setsockopt(*fd, opts[i].level, opts[i].opt, &opts[i].set, sizeof(int));
}

static int tcp(int family)
{
	return socket(family, SOCK_STREAM, 0);
}

/* a connection to listener l at a (len): the client, its accepted end */
static int pair(int l, const struct sockaddr *a, socklen_t len, int *c, int *acc, int *copts)
{
	if (copts)
		set_opts(copts);
	if (connect(*c, a, len) < 0 || (*acc = accept(l, NULL, NULL)) < 0)
		return -1;
	return 0;
}

/* "want" bytes from fd within 2 s, then (eof) the end of file: 0, or -1 */
static int read_all(int fd, const char *want, int eof)
{
	char b[64] = "";
	size_t got = 0, n = strlen(want);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (got < n && poll(&pf, 1, 2000) == 1 && (r = read(fd, b + got, n - got)) > 0)
		got += r;
	if (got != n || memcmp(b, want, n))
		return -1;
	return eof ? (poll(&pf, 1, 2000) == 1 && read(fd, b, sizeof b) == 0 ? 0 : -1) : 0;
}

static int half_closed(void)
{
	int bad = 0;

	if (read_all(h2, "bye", 1) < 0)
		bad++, printf("FAIL h2 did not read bye then the end of file\n");
	if (write(h2, "more", 4) != 4 || read_all(h1, "backmore", 0) < 0)
		bad++, printf("FAIL h1 did not read backmore\n");
	if (write(h1, "no", 2) != -1 || errno != EPIPE)
		bad++, printf("FAIL h1, shut down for writing, could write\n");
	if (read_all(g2, "", 1) < 0)
		bad++, printf("FAIL g2 did not read the end of file again\n");
	if (write(g2, "z", 1) != 1 || read_all(g1, "z", 0) < 0)
		bad++, printf("FAIL g1 did not read z\n");
	return bad;
}

static int verify(void)
{
	unsigned i;
	int bad = 0, v;

	for (i = 0; i < NOPTS; i++)
		if ((v = get(*opts[i].fd, opts[i].level, opts[i].opt)) != opts[i].want)
			bad++, printf("FAIL %s is %d, not %d\n", opts[i].name, v, opts[i].want);
	if ((v = linger_of(c1)) != 3)
		bad++, printf("FAIL c1.linger is %d, not 3\n", v);
	if (!rounds++)
		bad += half_closed();
	fflush(stdout);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 a6a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct linger lg = { 1, 3 };
	int port, one = 1, i;
	char b[8];

	if (argc != 2 || (port = atoi(argv[1])) <= 0)
		return fprintf(stderr, "usage: sockopts PORT\n"), 2;
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons(port);
	a6a.sin6_port = htons(port + 1);
	if ((lst = tcp(AF_INET)) < 0 || (c1 = tcp(AF_INET)) < 0 || (l6 = tcp(AF_INET6)) < 0 ||
	    (c6 = tcp(AF_INET6)) < 0 || (h1 = tcp(AF_INET)) < 0 || (g1 = tcp(AF_INET)) < 0 ||
	    (u = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return perror("sockopts: socket"), 1;
	setsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(l6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	set_opts(&lst);
	set_opts(&u);
	setsockopt(c1, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	if (bind(lst, (struct sockaddr *)&a, sizeof a) < 0 || listen(lst, 8) < 0 ||
	    bind(l6, (struct sockaddr *)&a6a, sizeof a6a) < 0 || listen(l6, 8) < 0 ||
	    pair(lst, (struct sockaddr *)&a, sizeof a, &c1, &a1, &c1) < 0 ||
	    pair(l6, (struct sockaddr *)&a6a, sizeof a6a, &c6, &a6, &c6) < 0 ||
	    pair(lst, (struct sockaddr *)&a, sizeof a, &h1, &h2, NULL) < 0 ||
	    pair(lst, (struct sockaddr *)&a, sizeof a, &g1, &g2, NULL) < 0)
		return perror("sockopts: connect"), 1;
	set_opts(&a1);
	if (write(h1, "bye", 3) != 3 || shutdown(h1, SHUT_WR) < 0 || write(h2, "back", 4) != 4 ||
	    write(g1, "x", 1) != 1 || shutdown(g1, SHUT_WR) < 0 || read_all(g2, "x", 1) < 0)
		return perror("sockopts: half close"), 1;
	(void)b;
	for (i = 0; i < (int)NOPTS; i++) {
		opts[i].want = get(*opts[i].fd, opts[i].level, opts[i].opt);
		printf("opt %s %d\n", opts[i].name, opts[i].want);
	}
	usleep(50 * 1000);   /* the FINs acknowledged: fin_wait2 */
	return serve_verify("sockopts", verify);
}
