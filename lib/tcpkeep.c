/* tcpkeep.c - a keeper of repaired connections' addresses (tcpkeep.h).
 * Each connection has a listening unix socket of the keeper's, in the
 * abstract namespace, named by its addresses ("ckpt-tcpkeep L P"); a
 * connection from root to it makes the keeper close that one. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tcpkeep.h"

#define RELEASE_WAIT_MS 2000   /* for the keeper's answer */

/* "[ADDR]:PORT" of either family into s */
static void addr_text(const struct sockaddr *sa, char *s, size_t cap)
{
	const struct sockaddr_in *in = (const void *)sa;
	const struct sockaddr_in6 *in6 = (const void *)sa;
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
		snprintf(s, cap, "%s:%u", a, ntohs(in->sin_port));
	} else {
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
		snprintf(s, cap, "[%s]:%u", a, ntohs(in6->sin6_port));
	}
}

/* the abstract name of connection local -> peer: its length */
static socklen_t keep_name(const struct sockaddr *local, const struct sockaddr *peer,
			   struct sockaddr_un *un)
{
	char l[64], p[64];
	int n;

	addr_text(local, l, sizeof l);
	addr_text(peer, p, sizeof p);
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "ckpt-tcpkeep %s %s", l, p);
	if (n < 0 || (size_t)n >= sizeof un->sun_path - 1)
		n = sizeof un->sun_path - 2;
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

/* a listening socket named for TCP socket fd's connection, or -1 */
static int keep_listen(int fd)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof l, pl = sizeof p, nl;
	struct sockaddr_un un;
	int s;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&p, &pl) < 0)
		return -1;
	nl = keep_name((struct sockaddr *)&l, (struct sockaddr *)&p, &un);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&un, nl) < 0 || listen(s, 4) < 0) {
		close(s);   /* a name taken: that one is not kept */
		return -1;
	}
	return s;
}

/* one caller on listener l: root's makes us let go of tcp (closed,
 * -1 then); anyone else's is not heard */
static void keep_answer(int l, int *tcp)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == 0) {
		close(*tcp);   /* still in repair mode: nothing is sent */
		*tcp = -1;
		if (write(c, "k", 1) < 0) {
			/* the caller sees the close */
		}
	}
	close(c);
}

static _Noreturn void keep(const int *fds, unsigned n, unsigned seconds)
{
	struct pollfd *pf = calloc(n, sizeof *pf);
	int *tcp = calloc(n, sizeof *tcp), left = 0;
	time_t end = time(NULL) + seconds;
	unsigned i;

	if (!pf || !tcp)
		_exit(1);
	for (i = 0; i < n; i++) {
		tcp[i] = fds[i];
		pf[i] = (struct pollfd){ .fd = keep_listen(fds[i]), .events = POLLIN };
		if (pf[i].fd < 0) {
			close(tcp[i]);
			tcp[i] = -1;
		}
		left += pf[i].fd >= 0;
	}
	while (left > 0 && time(NULL) < end) {
		if (poll(pf, n, 1000) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pf[i].fd >= 0 && (pf[i].revents & POLLIN)) {
				keep_answer(pf[i].fd, &tcp[i]);
				if (tcp[i] < 0) {
					close(pf[i].fd);
					pf[i].fd = -1;
					left--;
				}
			}
	}
	_exit(0);   /* what is left closes, in repair mode: silently */
}

/* in the keeper: every fd but fds[] closed, the standard ones on
 * /dev/null (ckpt-freeze's stdout is the stream: its reader must see
 * its end), a session of its own, a name ps shows */
static void keeper_alone(const int *fds, unsigned n)
{
	int fd, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsigned i;

	for (fd = 3; fd < 1024; fd++) {
		for (i = 0; i < n && fds[i] != fd; i++)
			;
		if (i == n && fd != null)
			close(fd);
	}
	if (null >= 0) {
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		close(null);
	}
	setsid();
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "ckpt-tcpkeep");
}

void tcpkeep_start(const int *fds, unsigned n, unsigned seconds)
{
	pid_t p = fork(), q;
	int st;

	if (p < 0)
		return;
	if (p == 0) {
		/* a grandchild, so that init reaps it, not ckpt-freeze */
		if ((q = fork()) != 0)
			_exit(q < 0);
		keeper_alone(fds, n);
		keep(fds, n, seconds);
	}
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
}

int tcpkeep_release(const struct sockaddr *local, const struct sockaddr *peer)
{
	struct sockaddr_un un;
	socklen_t nl = keep_name(local, peer, &un);
	struct pollfd pf;
	char k = 0;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return 0;
	if (connect(s, (struct sockaddr *)&un, nl) < 0) {
		close(s);
		return 0;
	}
	pf = (struct pollfd){ .fd = s, .events = POLLIN };
	if (poll(&pf, 1, RELEASE_WAIT_MS) > 0 && read(s, &k, 1) != 1)
		k = 0;
	close(s);
	return k == 'k';
}
