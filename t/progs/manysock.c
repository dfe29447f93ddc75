/* manysock PAIRS TCP - a job of many sockets with bytes queued, for
 * bench/sockets (issue 13's speed target): PAIRS unix socketpairs
 * (stream) and TCP loopback connections with both ends in the
 * process, each end with a message of its own queued to it, unread.
 * "manysock 0 0" is the same program without them: the baseline.
 * Prints "pid P", "ready manysock", then "tick N" every millisecond.
 * SIGUSR1 (or SIGTERM), the first time: every queue read back at once,
 * each message as sent: "pairs=P tcp=T", "verify ok" (the queues are
 * empty after it), else FAIL lines; SIGTERM: "done ok". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "prog.h"

static int npairs, ntcp, *fds;   /* both ends of each: pairs, then tcp */

/* the message queued to end i */
static int msg_of(unsigned i, char *b, size_t cap)
{
	return snprintf(b, cap, "message to end %u of manysock, a line of queued bytes\n", i);
}

static int tcp_pair(int l, const struct sockaddr_in *a, int *v)
{
	if ((v[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(v[0], (const struct sockaddr *)a, sizeof *a) < 0 ||
	    (v[1] = accept(l, NULL, NULL)) < 0)
		return -1;
	return 0;
}

static int make(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	char b[128];
	int l, i, n = 2 * (npairs + ntcp);

	if (!(fds = calloc(n ? n : 1, sizeof *fds)))
		return -1;
	for (i = 0; i < npairs; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds + 2 * i) < 0)
			return -1;
	if (ntcp && ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		     bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0 ||
		     getsockname(l, (struct sockaddr *)&a, &al) < 0))
		return -1;
	for (i = 0; i < ntcp; i++)
		if (tcp_pair(l, &a, fds + 2 * (npairs + i)) < 0)
			return -1;
	if (ntcp)
		close(l);
	for (i = 0; i < n; i++)   /* end i's message goes through its other end */
		if (write(fds[i ^ 1], b, msg_of(i, b, sizeof b)) < 0)
			return -1;
	return 0;
}

/* every queue read back, the first time only (then they are empty):
 * a message must be there at once, whole */
static int verify(void)
{
	char b[128], w[128];
	int i, n = 2 * (npairs + ntcp), len, bad = 0;
	static int rounds;

	for (i = 0; i < n && !rounds; i++) {
		len = msg_of(i, w, sizeof w);
		if (recv(fds[i], b, len, MSG_DONTWAIT) != len || memcmp(b, w, len))
			bad++, printf("FAIL end %d (fd %d): its message is not back\n", i, fds[i]);
	}
	rounds++;
	printf("pairs=%d tcp=%d\n", npairs, ntcp);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	uint64_t ticks = 0;

	if (argc != 3)
		return fprintf(stderr, "usage: manysock PAIRS TCP\n"), 2;
	npairs = atoi(argv[1]);
	ntcp = atoi(argv[2]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (make() < 0)
		return perror("manysock"), 1;
	signals_init();
	printf("pid %d\nready manysock\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		if (want_verify || want_exit) {
			if (verify() < 0)
				return 1;
			if (verified())
				return 0;
		}
		printf("tick %" PRIu64 "\n", ++ticks);
		fflush(stdout);
		nap_ms(1);
	}
}
