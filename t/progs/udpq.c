/* udpq PORT - UDP sockets with datagrams queued from several senders
 * (issue 13): after a restore each queue holds the same datagrams, in
 * order, each from the same sender address.
 *
 *   fd R4  UDP  127.0.0.1:PORT     receiver
 *   fd S4  UDP  127.0.0.1:PORT+1   a sender the job keeps
 *   fd A   UDP  autobound          a sender bound by its first sendto
 *   (closed)    127.0.0.1:PORT+2   a sender closed since
 *   fd R6  UDP6 [::]:PORT+3        receiver, not v6only (IPv4 too)
 *   fd S6  UDP6 [::1]:PORT+4       a sender the job keeps
 *   fd C   UDP  127.0.0.1:PORT+6   one datagram from PORT+2, then
 *                                  connected to S4, one from S4
 *
 * Queued to R4: "one" S4, "two" closed, "three" A, "four" S4; to R6:
 * "six" S6, "seven" S4 (v4-mapped); to C: "early", "late".  Others the
 * test sends after "ready" come behind them.  SIGUSR1: every queue is
 * read: "got FD FROM TEXT" for each datagram; the program's own must
 * come first, in order, from their senders; then S4 sends R4 one more
 * and it must arrive: "verify ok", else FAIL lines.  SIGTERM: the
 * same (the program's own datagrams only the first time), "done ok". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>

#include "prog.h"

static int port, r4, s4, a, r6, s6, c;
static unsigned short aport;
static int rounds;

static int udp(int family, const char *addr, int p, int v6only)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	int fd = socket(family, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (!addr)
		return fd;
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
	} else {
		in->sin_family = AF_INET;
		in->sin_port = htons(p);
		inet_pton(AF_INET, addr, &in->sin_addr);
	}
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof *in : sizeof *in6) < 0)
		return -1;
	return fd;
}

static int send4(int fd, const char *text, int p)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(p),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

static int send6(int fd, const char *text, int p)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(p),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	return sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a6[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		snprintf(out, cap, "%s:%u", inet_ntop(AF_INET, &in->sin_addr, a6, sizeof a6),
			 ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		snprintf(out, cap, "[%s]:%u", inet_ntop(AF_INET6, &in6->sin6_addr, a6, sizeof a6),
			 ntohs(in6->sin6_port));
	}
}

/* every datagram queued to fd, as "got NAME FROM TEXT"; the first
 * ones must be want[] ("FROM TEXT"): the FAILs */
static int drain(int fd, const char *name, const char *const *want, int nwant)
{
	struct sockaddr_storage from;
	socklen_t fl;
	char buf[2048], who[96], line[2300];
	ssize_t n;
	int i, bad = 0;

	for (i = 0;; i++) {
		fl = sizeof from;
		memset(&from, 0, sizeof from);
		if ((n = recvfrom(fd, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) < 0)
			break;
		buf[n] = 0;
		addr_text(&from, who, sizeof who);
		snprintf(line, sizeof line, "%s %s", who, buf);
		printf("got %s %s\n", name, line);
		if (i < nwant && strcmp(line, want[i]))
			bad++, printf("FAIL %s datagram %d: %s, not %s\n", name, i + 1, line, want[i]);
	}
	if (i < nwant)
		bad++, printf("FAIL %s: %d datagrams, not at least %d\n", name, i, nwant);
	return bad;
}

static int verify(void)
{
	char w[9][96];
	const char *r4w[4] = { w[0], w[1], w[2], w[3] }, *r6w[2] = { w[4], w[5] }, *cw[2] = { w[6], w[7] };
	struct pollfd pf = { .fd = 0, .events = POLLIN };
	int bad = 0;

	snprintf(w[0], sizeof w[0], "127.0.0.1:%d one", port + 1);
	snprintf(w[1], sizeof w[1], "127.0.0.1:%d two", port + 2);
	snprintf(w[2], sizeof w[2], "127.0.0.1:%u three", aport);
	snprintf(w[3], sizeof w[3], "127.0.0.1:%d four", port + 1);
	snprintf(w[4], sizeof w[4], "[::1]:%d six", port + 4);
	snprintf(w[5], sizeof w[5], "[::ffff:127.0.0.1]:%d seven", port + 1);
	snprintf(w[6], sizeof w[6], "127.0.0.1:%d early", port + 2);
	snprintf(w[7], sizeof w[7], "127.0.0.1:%d late", port + 1);
	/* the queues as they were only the first time */
	bad += drain(r4, "r4", r4w, rounds ? 0 : 4) + drain(r6, "r6", r6w, rounds ? 0 : 2) +
	       drain(c, "c", cw, rounds ? 0 : 2);
	rounds++;
	snprintf(w[8], sizeof w[8], "127.0.0.1:%d after", port + 1);
	r4w[0] = w[8];
	pf.fd = r4;
	if (send4(s4, "after", port) < 0 || poll(&pf, 1, 2000) != 1)
		bad++, printf("FAIL a datagram sent after the restore did not come\n");
	else
		bad += drain(r4, "r4", r4w, 1);
	fflush(stdout);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	int closed;

	if (argc != 2 || (port = atoi(argv[1])) <= 0)
		return fprintf(stderr, "usage: udpq PORT\n"), 2;
	if ((r4 = udp(AF_INET, "127.0.0.1", port, 0)) < 0 || (s4 = udp(AF_INET, "127.0.0.1", port + 1, 0)) < 0 ||
	    (a = udp(AF_INET, NULL, 0, 0)) < 0 || (closed = udp(AF_INET, "127.0.0.1", port + 2, 0)) < 0 ||
	    (r6 = udp(AF_INET6, "::", port + 3, 0)) < 0 || (s6 = udp(AF_INET6, "::1", port + 4, 1)) < 0 ||
	    (c = udp(AF_INET, "127.0.0.1", port + 6, 0)) < 0)
		return perror("udpq: socket"), 1;
	if (send4(s4, "one", port) < 0 || send4(closed, "two", port) < 0 || send4(a, "three", port) < 0 ||
	    send4(s4, "four", port) < 0 || send6(s6, "six", port + 3) < 0 ||
	    send4(s4, "seven", port + 3) < 0 || send4(closed, "early", port + 6) < 0)
		return perror("udpq: sendto"), 1;
	close(closed);
	me.sin_family = AF_INET;
	me.sin_port = htons(port + 1);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c, (struct sockaddr *)&me, sizeof me) < 0 || send4(s4, "late", port + 6) < 0)
		return perror("udpq: connect"), 1;
	if (getsockname(a, (struct sockaddr *)&me, &ml) < 0)
		return perror("udpq: getsockname"), 1;
	aport = ntohs(me.sin_port);
	usleep(100 * 1000);   /* loopback queues them a moment after */
	return serve_verify("udpq", verify);
}
