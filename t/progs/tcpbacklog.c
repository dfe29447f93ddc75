/* tcpbacklog PORT [sent] - a TCP listener with connections completed
 * but not accepted yet (issue 13): two clients of the job's own on
 * 127.0.0.1:PORT (backlog 8), which the program has not accepted.
 * With "sent", the second client has sent a line first.  "ready".
 * After a restore the server accepts them: SIGUSR1 (the first time)
 * accepts every waiting connection (2 s at most for the first), each
 * must come from one of its clients, the server says "hi" through
 * each and its client reads it, the client answers "yo" and the
 * server reads it: "verify ok accepted=N", else FAIL lines.  Then no
 * other connection may wait (one from outside the job was reset).
 * SIGTERM: the same the first time, "done ok". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include "prog.h"

#define NCLI 2

static int lfd, cli[NCLI], rounds;

static struct sockaddr_in at(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

/* which client a (accepted) is: its index, or -1 */
static int client_of(int a)
{
	struct sockaddr_in p, c;
	socklen_t pl = sizeof p, cl;
	int i;

	if (getpeername(a, (struct sockaddr *)&p, &pl) < 0)
		return -1;
	for (i = 0; i < NCLI; i++) {
		cl = sizeof c;
		if (getsockname(cli[i], (struct sockaddr *)&c, &cl) == 0 && c.sin_port == p.sin_port)
			return i;
	}
	return -1;
}

/* "hi" from the server's end a to client c, "yo" back (after the
 * "early" line a client sent first, with "sent"): 0, or -1 */
static int talk(int a, int c)
{
	char b[16] = "";
	struct pollfd pf = { .fd = c, .events = POLLIN };
	ssize_t n, got = 0;

	if (write(a, "hi", 2) != 2 || poll(&pf, 1, 2000) != 1 || read(c, b, sizeof b) != 2 ||
	    memcmp(b, "hi", 2) || write(c, "yo", 2) != 2)
		return -1;
	pf.fd = a;
	memset(b, 0, sizeof b);
	while (got < 8 && strcmp(b, "yo") && strcmp(b, "early\nyo") && poll(&pf, 1, 2000) == 1 &&
	       (n = read(a, b + got, sizeof b - 1 - got)) > 0)
		got += n;
	return strcmp(b, "yo") && strcmp(b, "early\nyo") ? -1 : 0;
}

static int verify(void)
{
	struct pollfd pf = { .fd = 0, .events = POLLIN };
	int n = 0, bad = 0, a, i;

	if (rounds++)
		return 0;
	pf.fd = lfd;
	while (poll(&pf, 1, n ? 200 : 2000) == 1 && (a = accept(lfd, NULL, NULL)) >= 0) {
		n++;
		if ((i = client_of(a)) < 0)
			bad++, printf("FAIL accepted a connection from none of the clients\n");
		else if (talk(a, cli[i]) < 0)
			bad++, printf("FAIL client %d: no hi/yo through the accepted connection\n", i + 1);
		close(a);
	}
	if (n != NCLI)
		bad++, printf("FAIL accepted %d connections, not %d\n", n, NCLI);
	printf("accepted=%d\n", n);
	fflush(stdout);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	int one = 1, port, i;

	if (argc < 2 || (port = atoi(argv[1])) <= 0)
		return fprintf(stderr, "usage: tcpbacklog PORT [sent]\n"), 2;
	a = at(port);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0)
		return perror("tcpbacklog: listen"), 1;
	for (i = 0; i < NCLI; i++)
		if ((cli[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(cli[i], (struct sockaddr *)&a, sizeof a) < 0)
			return perror("tcpbacklog: connect"), 1;
	if (argc > 2 && !strcmp(argv[2], "sent") && write(cli[1], "early\n", 6) != 6)
		return perror("tcpbacklog: write"), 1;
	return serve_verify("tcpbacklog", verify);
}
