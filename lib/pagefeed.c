/* pagefeed.c - page data to the restorer (pagefeed.h) */
#include <errno.h>
#include <fcntl.h>

#include "io.h"
#include "pagefeed.h"
#include "stream.h"
#include "timing.h"

static uint64_t read_ns, write_ns, splice_ns;   /* CKPT_TIMING */

/* spliced from a raw stream's file (no copy here), else read and
 * written 1 MiB at a time */
int pages_feed(struct stream *s, int fd)
{
	static char buf[1 << 20];
	size_t n;
	ssize_t r;
	uint64_t t0, t1, t2;

	while (s->left) {
		t0 = timing_ns();
		r = stream_splice(s, fd, s->left, &n);
		if (r < 0)
			return -1;
		if (r != 0) {
			splice_ns += timing_ns() - t0;
			continue;
		}
		if (n == 0 || n > sizeof buf || n > s->left)
			n = s->left < sizeof buf ? s->left : sizeof buf;
		if (stream_read(s, buf, n) < 0)
			return -2;
		t1 = timing_ns();
		if (write_all(fd, buf, n) < 0)
			return -1;
		t2 = timing_ns();
		read_ns += t1 - t0;
		write_ns += t2 - t1;
	}
	return 0;
}

int pages_held_feed(int held, int fd, uint64_t len)
{
	loff_t off = 0;
	ssize_t n;

	while ((uint64_t)off < len) {
		n = splice(held, &off, fd, NULL, len - off, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
	}
	return 0;
}

void pages_timing(void)
{
	timing_part("splice file to pipe", splice_ns, "  (waits for the restorer: faults, copy)");
	timing_part("reading the stream", read_ns, "");
	timing_part("writing the pipe", write_ns, "  (waits for the restorer: faults, copy)");
}
