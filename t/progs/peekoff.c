/* peekoff - a unix stream socketpair with 100 bytes queued to one end,
 * which the program walks with a peek offset of its own (SO_PEEK_OFF):
 * it has peeked at the first 10 when it says "ready peekoff".
 * SIGUSR1: one more peek of 10 bytes, "peeked AT" (AT: where in the
 * queue they were: 10 when the offset is still the program's), then
 * a read of the whole queue, which must be the 100 bytes in order and
 * nothing more: "verify ok", else a FAIL line.  Only the first request
 * reads (the queue is empty after it). */
#include "prog.h"

#define LEN 100

static int sv[2];

/* byte i of the queue: each a value of its own, so a peek tells where
 * it was */
static char byte_at(int i)
{
	return (char)(' ' + i);
}

static int verify(void)
{
	static int done;
	char b[2 * LEN];
	ssize_t n;
	int i;

	if (done++)
		return 0;
	if ((n = recv(sv[0], b, 10, MSG_PEEK | MSG_DONTWAIT)) != 10)
		return printf("FAIL peek: %zd bytes, not 10\n", n), -1;
	printf("peeked %d\n", b[0] - ' ');
	if ((n = recv(sv[0], b, sizeof b, MSG_DONTWAIT)) != LEN)
		return printf("FAIL read: %zd bytes queued, not %d\n", n, LEN), -1;
	for (i = 0; i < LEN; i++)
		if (b[i] != byte_at(i))
			return printf("FAIL read: byte %d is %d, not %d\n", i, b[i], byte_at(i)), -1;
	return 0;
}

int main(void)
{
	char b[LEN];
	int i, off = 0;

	for (i = 0; i < LEN; i++)
		b[i] = byte_at(i);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || write(sv[1], b, LEN) != LEN ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) < 0 ||
	    recv(sv[0], b, 10, MSG_PEEK) != 10)
		return perror("peekoff"), 1;
	return serve_verify("peekoff", verify);
}
