/* pagefeed.c - page data to the restorer (pagefeed.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "pagefeed.h"
#include "stream.h"
#include "timing.h"

static uint64_t read_ns, write_ns, splice_ns;   /* CKPT_TIMING */

/* Some of the rest of the member into fd: spliced from a raw stream
 * (no copy here), else read and written, at most 1 MiB: 0, or as
 * pages_feed */
static int feed_step(struct stream *s, int fd)
{
	static char buf[1 << 20];
	size_t n;
	ssize_t r;
	uint64_t t0, t1, t2;

	t0 = timing_ns();
	r = stream_splice(s, fd, s->left, &n);
	if (r < 0)
		return -1;
	if (r != 0) {
		splice_ns += timing_ns() - t0;
		return 0;
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
	return 0;
}

int pages_feed(struct stream *s, int fd)
{
	int r = 0;

	while (s->left && (r = feed_step(s, fd)) == 0)
		;
	return r;
}

/* up to len bytes of in at *off read and written to fd: the count */
static ssize_t feeder_copy(int in, loff_t *off, uint64_t len, int fd)
{
	static char buf[1 << 16];
	ssize_t n = pread(in, buf, len < sizeof buf ? len : sizeof buf, *off);

	if (n > 0 && write_all(fd, buf, n) < 0)
		return -1;
	if (n > 0)
		*off += n;
	return n;
}

/* the feeder: len bytes of in from at into fd, then exit 0 (1 when
 * the restorer is gone, or in ended) */
static _Noreturn void feeder_run(int in, uint64_t at, uint64_t len, int fd)
{
	loff_t off = at;
	ssize_t n;
	int lo = in < fd ? in : fd, hi = in < fd ? fd : in;

	/* nothing of ckpt-thaw's held open: other restorers' pipes, the
	 * tree's sockets (each must see its ends go with ckpt-thaw) */
	if (lo > 3)
		syscall(SYS_close_range, 3, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
	while (len) {
		n = splice(in, &off, fd, NULL, len, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			n = feeder_copy(in, &off, len, fd);   /* a file that cannot splice */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		len -= n;
	}
	_exit(0);
}

int pages_feed_ahead(struct stream *s, int fd, pid_t *feeder)
{
	uint64_t at, left;
	int in, r;
	pid_t p;

	*feeder = 0;
	while (s->left) {
		left = s->left;
		if (stream_seek(s, &in, &at) > 0) {
			fflush(NULL);
			if ((p = fork()) == 0)
				feeder_run(in, at, left, fd);
			if (p < 0)
				return warn("feed the pages: fork:"), -2;
			*feeder = p;
			return 0;
		}
		if ((r = feed_step(s, fd)) != 0)
			return r;
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
