/* pagesout.c - the page data of a dump, sent by the shim or read
 * through the mem fd (pagesout.h) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "io.h"
#include "pagesout.h"

#define CHUNK (1 << 20)      /* bytes per read, write or splice */
#define PIPE_SIZE (1 << 20)  /* pipe-max-size without CAP_SYS_RESOURCE */
#define RANGES_MAX (CKPT_MSG_MAX / sizeof(struct ckpt_range))
#define REQ_BYTES (256ULL << 20) /* page bytes per PAGES request */

/* Pages through the mem fd, for what vmsplice cannot take.  A page
 * that fails with EIO is stored as zeros: an orphan's pages past the
 * end of its file (a process touching them gets SIGBUS). */
int pages_run_copy(struct pages_out *o, const struct page_run *run)
{
	static char buf[CHUNK] __attribute__((aligned(4096)));
	uint64_t addr, len;
	ssize_t n;
	int r;

	for (addr = run->start; addr < run->end; addr += len) {
		len = run->end - addr < CHUNK ? run->end - addr : CHUNK;
		n = pread(o->mem_fd, buf, len, addr);
		if (n < 0 && errno == EINTR) {
			len = 0;
			continue;
		}
		if (n <= 0 && (n == 0 || errno != EIO)) {
			warn("pid %d: read memory at %" PRIx64 "%s", (int)o->pid,
			     addr, n < 0 ? ":" : ": end of file");
			return -1;
		}
		if (n < 0)
			memset(buf, 0, n = 4096);
		len = n;
		if ((r = tar_data(o->tar, buf, len)) < 0) {
			warnerr(r, "stdout:");
			return -1;
		}
	}
	return 0;
}

/* where run starts in held_fd: past the held runs before it (the runs
 * come in address order) */
static int held_at(struct pages_out *o, const struct page_run *run, uint64_t *off)
{
	const struct page_run *h;

	for (; o->held_i < o->held->n; o->held_i++) {
		h = &o->held->v[o->held_i];
		if (h->held && run->start >= h->start && run->end <= h->end) {
			*off = o->held_base + run->start - h->start;
			return 0;
		}
		if (h->held)
			o->held_base += h->end - h->start;
	}
	return -1;
}

/* --cow: a run copied while the process was frozen, from held_fd */
static int run_held(struct pages_out *o, const struct page_run *run)
{
	static char buf[CHUNK];
	uint64_t left = run->end - run->start, off = 0;
	ssize_t n;
	int r;

	if (held_at(o, run, &off) < 0) {
		warn("pid %d: pages at %" PRIx64 ": not among those held", (int)o->pid, run->start);
		return -1;
	}
	for (; left; left -= n, off += n) {
		n = pread(o->held_fd, buf, left < CHUNK ? left : CHUNK, off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			warn("pid %d: pages held at %" PRIx64 "%s", (int)o->pid, run->start,
			     n < 0 ? ":" : ": end of file");
			return -1;
		}
		if ((r = tar_data(o->tar, buf, n)) < 0) {
			warnerr(r, "stdout:");
			return -1;
		}
	}
	return 0;
}

/* The shim's control thread is busy until its reply; while the pipe
 * holds bytes, the reader is just slow and we wait on.  A pipe that
 * stays empty for 100 ms while no reply comes means it stopped. */
static int reply_wait(struct pages_out *o, struct ctl_call *c)
{
	struct timespec ts = { 0, 10000000 };
	int r, n, i;

	while ((r = ctl_recv(o->sock, c)) == -EAGAIN) {
		for (i = 0; i < 10; i++) {
			if (ioctl(1, FIONREAD, &n) < 0 || n > 0)
				break;
			nanosleep(&ts, NULL);
		}
		if (i == 10)
			return -ETIMEDOUT;
	}
	return r;
}

/* move up to len bytes from the relay pipe to stdout */
static ssize_t relay_move(struct pages_out *o, uint64_t len)
{
	static char buf[CHUNK];
	ssize_t n;
	int r;

	if (len > CHUNK)
		len = CHUNK;
	if (!o->relay_copy) {
		n = splice(o->relay[0], NULL, 1, NULL, len, SPLICE_F_MOVE);
		if (n >= 0 || errno != EINVAL)
			return n < 0 ? -errno : n;
		o->relay_copy = 1;   /* O_APPEND, or no splice_write */
	}
	n = read(o->relay[0], buf, len);
	if (n < 0)
		return -errno;
	r = write_all(1, buf, n);
	return r < 0 ? r : n;
}

/* Drain the relay pipe into stdout while the shim fills it; its reply
 * may come before we took the last bytes, never after a stall. */
static int relay_drain(struct pages_out *o, struct ctl_call *c, uint64_t bytes)
{
	struct pollfd p[2] = { { o->relay[0], POLLIN, 0 }, { o->sock, POLLIN, 0 } };
	int replied = 0, r;
	ssize_t n;

	while (bytes) {
		r = poll(p, replied ? 1 : 2, 10000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		if (p[0].revents & POLLIN) {
			if ((n = relay_move(o, bytes)) < 0)
				return n;
			bytes -= n;
		} else if (!replied && p[1].revents) {
			if ((r = ctl_recv(o->sock, c)) < 0)
				return r;
			replied = 1;
		} else {
			return -EPIPE;
		}
	}
	return replied ? 0 : reply_wait(o, c);
}

/* One CKPT_OP_PAGES request: the shim vmsplices the ranges into stdout
 * itself when it is a pipe (no copy at all), else into our relay pipe,
 * which we splice on to stdout meanwhile. */
static int pages_request(struct pages_out *o, const struct ckpt_range *rg,
			 size_t n, uint64_t bytes)
{
	int pfd = o->out_pipe ? 1 : o->relay[1];
	struct ctl_call c = { .op = CKPT_OP_PAGES, .payload = rg,
			      .len = n * sizeof *rg, .fds = &pfd, .nfds = 1 };
	int r = ctl_send(o->sock, &c);

	if (r == 0)
		r = o->out_pipe ? reply_wait(o, &c) : relay_drain(o, &c, bytes);
	if (r == 0 && c.rep.arg != bytes)
		r = -EPROTO;
	if (r < 0) {
		warnerr(r, "pid %d: pages %" PRIx64 "-%" PRIx64 " (%zu ranges):",
			(int)o->pid, rg[0].start, rg[n - 1].start + rg[n - 1].len, n);
		return -1;
	}
	tar_advance(o->tar, bytes);
	return 0;
}

/* the runs from i on that go in one request; returns the next i */
static size_t batch_fill(struct pages_out *o, size_t i, struct ckpt_range *rg,
			 size_t *n, uint64_t *bytes)
{
	const struct page_run *run;

	for (*n = 0, *bytes = 0; i < o->runs->n && *n < RANGES_MAX &&
	     *bytes < REQ_BYTES; i++) {
		run = &o->runs->v[i];
		if (run->via_mem || run->held)
			break;
		rg[*n].start = run->start;
		rg[(*n)++].len = run->end - run->start;
		*bytes += run->end - run->start;
	}
	return i;
}

/* the page data, in the order of the runs */
static int pages_send(struct pages_out *o)
{
	static struct ckpt_range rg[RANGES_MAX];
	uint64_t bytes;
	size_t i = 0, n;

	while (i < o->runs->n) {
		if (o->runs->v[i].held) {
			if (run_held(o, &o->runs->v[i++]) < 0)
				return -1;
			continue;
		}
		if (o->runs->v[i].via_mem) {
			if (pages_run_copy(o, &o->runs->v[i++]) < 0)
				return -1;
			continue;
		}
		i = batch_fill(o, i, rg, &n, &bytes);
		if (pages_request(o, rg, n, bytes) < 0)
			return -1;
	}
	return 0;
}

/* Where the page data goes: F_SETPIPE_SZ 1 MiB makes fewer, larger
 * vmsplices (the default 64 KiB pipe costs ~10% at 1 GiB). */
static int out_setup(struct pages_out *o)
{
	struct stat st;

	if (fstat(1, &st) < 0)
		die("stdout:");
	o->out_pipe = S_ISFIFO(st.st_mode);
	if (o->out_pipe) {
		fcntl(1, F_SETPIPE_SZ, PIPE_SIZE);
		return 0;
	}
	if (pipe2(o->relay, O_CLOEXEC) < 0) {
		warn("pipe:");
		return -1;
	}
	fcntl(o->relay[1], F_SETPIPE_SZ, PIPE_SIZE);
	return 0;
}

/* the member's data and its end; the relay pipe is ours to close */
static int pages_member(struct pages_out *o, const char *name)
{
	int r;

	if ((r = tar_begin_aligned(o->tar, name, o->runs->bytes)) < 0) {
		warnerr(r, "stdout: %s:", name);
		return -1;
	}
	if (out_setup(o) < 0 || pages_send(o) < 0)
		return -1;
	/* the data is whole pages: no padding, but keep the rule */
	if ((r = tar_end_member(o->tar, o->runs->bytes)) < 0) {
		warnerr(r, "stdout: %s:", name);
		return -1;
	}
	return 0;
}

int pages_out_write(struct pages_out *o, const char *name, const struct run_list *runs)
{
	int r, i;

	o->runs = runs;
	o->held_i = o->held_base = 0;
	o->out_pipe = o->relay_copy = 0;
	o->relay[0] = o->relay[1] = -1;
	r = pages_member(o, name);
	for (i = 0; i < 2; i++)
		if (o->relay[i] >= 0)
			close(o->relay[i]);
	return r;
}
