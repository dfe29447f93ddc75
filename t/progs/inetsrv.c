/* inetsrv PORT - a server's TCP and UDP sockets, each with the options
 * a server sets, on loopback ports PORT to PORT+5:
 *   fd 3  TCP  127.0.0.1:PORT    listening, backlog 7, SO_REUSEADDR,
 *              SO_KEEPALIVE, TCP_NODELAY, TCP_DEFER_ACCEPT, O_NONBLOCK
 *   fd 4  TCP6 [::1]:PORT+1      listening, backlog 3, IPV6_V6ONLY,
 *              SO_REUSEPORT
 *   fd 5  UDP  127.0.0.1:PORT+2  bound, SO_BROADCAST
 *   fd 6  UDP6 [::1]:PORT+3      bound, connected to [::1]:PORT+4 (the
 *              bind to ::1 sets IPV6_V6ONLY, which was cleared before)
 *   fd 7  TCP  127.0.0.1:PORT+5  bound, not listening
 * Then "ready".  SIGUSR1 (verify) and SIGTERM (finish): each socket's
 * options and addresses read back and printed ("sock N ..."), checked
 * against what was set, then each listener accepts a connection of
 * ours (a byte each way) and the UDP socket takes a datagram: "verify
 * ok" or "done ok", else FAIL lines. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "prog.h"

static int port;

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;

	getsockopt(fd, level, name, &v, &len);
	return v;
}

static void on(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof v) < 0)
		printf("FAIL setsockopt %d %d: %s\n", level, name, strerror(errno)), exit(1);
}

static socklen_t addr_of(int family, int p, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons(p);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(p);
	in6->sin6_addr = in6addr_loopback;
	return sizeof *in6;
}

/* a socket at fd number want, bound to loopback port p */
static void make(int want, int family, int type, int p, void (*opts)(int))
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, p, &ss);
	int fd = socket(family, type, 0);

	if (fd < 0 || dup2(fd, want) < 0)
		printf("FAIL socket: %s\n", strerror(errno)), exit(1);
	if (fd != want)
		close(fd);
	if (opts)
		opts(want);
	if (bind(want, (struct sockaddr *)&ss, len) < 0)
		printf("FAIL bind port %d: %s\n", p, strerror(errno)), exit(1);
}

static void opts3(int fd)
{
	on(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	on(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	on(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	on(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
}

static void opts4(int fd)
{
	on(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	on(fd, SOL_SOCKET, SO_REUSEPORT, 1);
}

static void opts5(int fd)
{
	on(fd, SOL_SOCKET, SO_BROADCAST, 1);
}

static void opts6(int fd)
{
	on(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
}

static void setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len;

	make(3, AF_INET, SOCK_STREAM, port, opts3);
	make(4, AF_INET6, SOCK_STREAM, port + 1, opts4);
	make(5, AF_INET, SOCK_DGRAM, port + 2, opts5);
	make(6, AF_INET6, SOCK_DGRAM, port + 3, opts6);
	make(7, AF_INET, SOCK_STREAM, port + 5, NULL);
	len = addr_of(AF_INET6, port + 4, &ss);
	if (listen(3, 7) < 0 || listen(4, 3) < 0 || connect(6, (struct sockaddr *)&ss, len) < 0 ||
	    fcntl(3, F_SETFL, O_NONBLOCK) < 0)
		printf("FAIL listen/connect: %s\n", strerror(errno)), exit(1);
}

/* "ADDR:PORT" of fd's own (peer: its peer's) address, or "-" */
static const char *name_of(int fd, int peer)
{
	static char out[2][80];
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char a[INET6_ADDRSTRLEN];
	int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		       getsockname(fd, (struct sockaddr *)&ss, &len);

	if (r < 0)
		return "-";
	if (ss.ss_family == AF_INET)
		snprintf(out[peer], sizeof out[peer], "%s:%u",
			 inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a),
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else
		snprintf(out[peer], sizeof out[peer], "[%s]:%u",
			 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof a),
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return out[peer];
}

/* what fd is as one line; the line it must be, checked */
static int show(int fd, const char *want)
{
	char line[512];
	int v6 = opt(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET6;
	int tcp = opt(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM;

	snprintf(line, sizeof line,
		 "sock %d %s %s peer=%s listen=%d reuseaddr=%d reuseport=%d keepalive=%d "
		 "broadcast=%d nodelay=%d defer=%d v6only=%d nonblock=%d",
		 fd, tcp ? "tcp" : "udp", name_of(fd, 0), name_of(fd, 1),
		 opt(fd, SOL_SOCKET, SO_ACCEPTCONN), opt(fd, SOL_SOCKET, SO_REUSEADDR),
		 opt(fd, SOL_SOCKET, SO_REUSEPORT), opt(fd, SOL_SOCKET, SO_KEEPALIVE),
		 opt(fd, SOL_SOCKET, SO_BROADCAST), tcp ? opt(fd, IPPROTO_TCP, TCP_NODELAY) : 0,
		 tcp ? opt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0 : 0,
		 v6 ? opt(fd, IPPROTO_IPV6, IPV6_V6ONLY) : 0, !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	printf("%s\n", line);
	if (strcmp(line, want))
		return printf("FAIL sock %d: want %s\n", fd, want), -1;
	return 0;
}

/* a connection of ours to listener fd (family, port p): a byte each
 * way through what it accepts */
static int accept_one(int fd, int family, int p)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, p, &ss);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	int c = socket(family, SOCK_STREAM, 0), a = -1, ok = 0;
	char b = 0;

	if (c >= 0 && connect(c, (struct sockaddr *)&ss, len) == 0 && send(c, "x", 1, 0) == 1 &&
	    poll(&pf, 1, 5000) == 1 && (a = accept(fd, NULL, NULL)) >= 0 &&
	    recv(a, &b, 1, 0) == 1 && b == 'x' && send(a, "y", 1, 0) == 1 &&
	    recv(c, &b, 1, 0) == 1 && b == 'y')
		ok = 1;
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	if (!ok)
		return printf("FAIL accept on fd %d: %s\n", fd, strerror(errno)), -1;
	printf("accepted on fd %d\n", fd);
	return 0;
}

static int datagram_one(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(AF_INET, port + 2, &ss);
	int c = socket(AF_INET, SOCK_DGRAM, 0), ok;
	char b[8] = { 0 };

	ok = c >= 0 && sendto(c, "dgram", 5, 0, (struct sockaddr *)&ss, len) == 5 &&
	     recv(5, b, sizeof b, 0) == 5 && !memcmp(b, "dgram", 5);
	if (c >= 0)
		close(c);
	if (!ok)
		return printf("FAIL datagram on fd 5: %s\n", strerror(errno)), -1;
	printf("datagram on fd 5\n");
	return 0;
}

static int verify(void)
{
	char w[5][400];
	int bad = 0, i;

	snprintf(w[0], sizeof w[0], "sock 3 tcp 127.0.0.1:%d peer=- listen=1 reuseaddr=1 reuseport=0 keepalive=1 broadcast=0 nodelay=1 defer=1 v6only=0 nonblock=1", port);
	snprintf(w[1], sizeof w[1], "sock 4 tcp [::1]:%d peer=- listen=1 reuseaddr=0 reuseport=1 keepalive=0 broadcast=0 nodelay=0 defer=0 v6only=1 nonblock=0", port + 1);
	snprintf(w[2], sizeof w[2], "sock 5 udp 127.0.0.1:%d peer=- listen=0 reuseaddr=0 reuseport=0 keepalive=0 broadcast=1 nodelay=0 defer=0 v6only=0 nonblock=0", port + 2);
	snprintf(w[3], sizeof w[3], "sock 6 udp [::1]:%d peer=[::1]:%d listen=0 reuseaddr=0 reuseport=0 keepalive=0 broadcast=0 nodelay=0 defer=0 v6only=1 nonblock=0", port + 3, port + 4);
	snprintf(w[4], sizeof w[4], "sock 7 tcp 127.0.0.1:%d peer=- listen=0 reuseaddr=0 reuseport=0 keepalive=0 broadcast=0 nodelay=0 defer=0 v6only=0 nonblock=0", port + 5);
	for (i = 0; i < 5; i++)
		bad |= show(3 + i, w[i]);
	if (bad || accept_one(3, AF_INET, port) < 0 || accept_one(4, AF_INET6, port + 1) < 0 ||
	    datagram_one() < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65530) {
		fprintf(stderr, "usage: inetsrv PORT\n");
		return 2;
	}
	setup();
	return serve_verify("inetsrv", verify);
}
