/* ckpt-dumpmem - the memory of a frozen process, as raw-stream members:
 * proc/PID/maps, mapfiles, pagemap and pages (formats/memory.md).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "err.h"
#include "escape.h"
#include "freeze.h"
#include "io.h"
#include "kproc.h"
#include "maps.h"
#include "memberout.h"
#include "pagescan.h"
#include "tar.h"

#define CHUNK (1 << 20)      /* bytes per read, write or splice */
#define PIPE_SIZE (1 << 20)  /* pipe-max-size without CAP_SYS_RESOURCE */
#define RANGES_MAX (CKPT_MSG_MAX / sizeof(struct ckpt_range))
#define REQ_BYTES (256ULL << 20) /* page bytes per PAGES request */

static const char usage_str[] = "ckpt-dumpmem [--control FD --offset N] PID";

static const struct option options[] = {
	{ "control", required_argument, NULL, 'c' },
	{ "offset", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* what stat() said of a region's file */
struct mapfile {
	int ok;                    /* the file at the path is the one mapped */
	long long size;
	struct timespec mtime;
};

struct dump {
	pid_t pid;
	int sock;
	int fds[CKPT_PROCFD_COUNT];
	char *maps;                /* the kernel's text, verbatim */
	char *smaps;               /* /proc/PID/smaps, for VmFlags, or NULL */
	size_t maps_len;
	struct map_region *reg;
	size_t nreg;
	struct mapfile *files;     /* one per region */
	struct run_list runs;
	struct shm_seen *seen;     /* pages of shared memory objects stored */
	size_t nseen, capseen;
	struct tar_out tar;
	int out_pipe;              /* stdout is a pipe: the shim vmsplices
	                            * straight into it */
	int relay[2];              /* else a pipe of ours, spliced on */
	int relay_copy;            /* stdout takes no splice: read+write */
};

static int proc_fetch(struct dump *d)
{
	static struct ckpt_proc_rec rec;
	struct ctl_call c = { .op = CKPT_OP_PROC, .reply = &rec,
			      .replen = sizeof rec, .rfds = d->fds,
			      .nrfds = CKPT_PROCFD_COUNT };
	int r = ctl_call(d->sock, &c), i;

	if (r == 0 && (c.replen < sizeof rec || c.nrfds != CKPT_PROCFD_COUNT))
		r = -EPROTO;
	if (r < 0) {
		for (i = 0; i < c.nrfds; i++)
			close(d->fds[i]);
		if (r == -EACCES)
			warn("pid %d: the process cannot open its own /proc/self/mem (not dumpable?)",
			     (int)d->pid);
		else
			warnerr(r, "pid %d: process record:", (int)d->pid);
		return -1;
	}
	return 0;
}

static int maps_load(struct dump *d)
{
	size_t bad = 0;
	int r;

	d->maps = read_fd_all(d->fds[CKPT_PROCFD_MAPS], &d->maps_len);
	if (!d->maps) {
		warn("pid %d: read maps:", (int)d->pid);
		return -1;
	}
	r = maps_parse(d->maps, d->maps_len, &d->reg, &d->nreg, &bad);
	if (r == -EINVAL)
		warn("pid %d: maps line %zu: not a maps line", (int)d->pid, bad);
	else if (r < 0)
		warnerr(r, "pid %d: maps:", (int)d->pid);
	return r < 0 ? -1 : 0;
}

/* the kernel writes a newline in a path as \012 (and nothing else
 * escaped); undo it to get the path stat() needs */
static void path_unmangle(const struct map_region *r, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < r->pathlen && n + 1 < cap; i++) {
		if (r->pathlen - i >= 4 && !memcmp(r->path + i, "\\012", 4)) {
			out[n++] = '\n';
			i += 3;
		} else {
			out[n++] = r->path[i];
		}
	}
	out[n] = 0;
}

/* Is the file at the region's path the one mapped (same device and
 * inode as the maps line)?  When it is not (deleted, replaced by an
 * upgrade, out of our reach) the region is dumped whole, as an orphan */
static void files_check(struct dump *d)
{
	static char path[8192];
	struct mapfile *f;
	struct stat st;
	size_t i;

	d->files = calloc(d->nreg ? d->nreg : 1, sizeof *d->files);
	if (!d->files)
		die("pid %d: maps:", (int)d->pid);
	for (i = 0; i < d->nreg; i++) {
		if (!map_is_file(&d->reg[i]) || map_kind(&d->reg[i]) == MAP_KIND_ORPHAN)
			continue;
		path_unmangle(&d->reg[i], path, sizeof path);
		f = &d->files[i];
		f->ok = stat(path, &st) == 0 && st.st_ino == d->reg[i].inode &&
			major(st.st_dev) == d->reg[i].dev_major &&
			minor(st.st_dev) == d->reg[i].dev_minor;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
	}
}

/* a range of a shared memory object (dev, inode) whose pages are in
 * the image already, through some view: offsets in the object */
struct shm_seen {
	unsigned major, minor;
	uint64_t ino, lo, hi;
};

static int seen_add(struct dump *d, const struct map_region *r, uint64_t lo, uint64_t hi)
{
	struct shm_seen *v;

	if (d->nseen == d->capseen) {
		d->capseen = d->capseen ? 2 * d->capseen : 16;
		if (!(v = realloc(d->seen, d->capseen * sizeof *v)))
			return -ENOMEM;
		d->seen = v;
	}
	d->seen[d->nseen++] = (struct shm_seen){ r->dev_major, r->dev_minor, r->inode, lo, hi };
	return 0;
}

/* [a, b) of region r, less what earlier views of its object stored
 * (from seen[k] on), appended to the runs */
static int shm_emit(struct dump *d, const struct map_region *r, uint64_t a, uint64_t b,
		    size_t k, int via_mem)
{
	const struct shm_seen *s;
	uint64_t lo, hi;
	int e;

	for (; k < d->nseen && a < b; k++) {
		s = &d->seen[k];
		if (s->ino != r->inode || s->major != r->dev_major || s->minor != r->dev_minor ||
		    s->hi <= r->offset)
			continue;
		/* the seen range at this view's addresses */
		lo = s->lo <= r->offset ? r->start : s->lo - r->offset + r->start;
		hi = s->hi - r->offset + r->start;
		if (hi <= a || lo >= b)
			continue;
		if (lo > a && (e = shm_emit(d, r, a, lo, k + 1, via_mem)))
			return e;
		a = hi;
	}
	return a < b ? run_add(&d->runs, r->start, a, b, via_mem) : 0;
}

/* Views of one shared memory object (a memfd mapped twice, shared
 * anonymous memory given a second address by mremap) show the same
 * pages: each is stored once, through the first view whose page
 * tables have it; a restore maps every view of the object from one
 * object (formats/memory.md). */
static int shm_once(struct dump *d, const struct map_region *r, size_t n0)
{
	struct page_run *mine;
	size_t n = d->runs.n - n0, i;
	int e = 0;

	if (!(mine = malloc((n ? n : 1) * sizeof *mine)))
		return -ENOMEM;
	memcpy(mine, d->runs.v + n0, n * sizeof *mine);
	for (i = 0; i < n; i++)
		d->runs.bytes -= mine[i].end - mine[i].start;
	d->runs.n = n0;
	for (i = 0; !e && i < n; i++)
		e = shm_emit(d, r, mine[i].start, mine[i].end, 0, mine[i].via_mem);
	for (i = n0; !e && i < d->runs.n; i++)
		e = seen_add(d, r, d->runs.v[i].start - r->start + r->offset,
			     d->runs.v[i].end - r->start + r->offset);
	free(mine);
	return e;
}

static int runs_collect(struct dump *d)
{
	struct pagescan ps = { .pagemap_fd = d->fds[CKPT_PROCFD_PAGEMAP],
			       .mem_fd = d->fds[CKPT_PROCFD_MEM] };
	const struct map_region *r;
	enum map_kind kind;
	size_t i, n0;
	int e;

	for (i = 0; i < d->nreg; i++) {
		r = &d->reg[i];
		kind = map_kind(r);
		if (map_is_file(r) && !d->files[i].ok)
			kind = MAP_KIND_ORPHAN;
		n0 = d->runs.n;
		e = pagescan_region(&ps, r, kind, &d->runs);
		if (e == 0 && kind == MAP_KIND_SHARED_MEM && r->inode)
			e = shm_once(d, r, n0);
		if (e < 0) {
			warnerr(e, "pid %d: scan pages of %" PRIx64 "-%" PRIx64 ":",
				(int)d->pid, r->start, r->end);
			return -1;
		}
	}
	return 0;
}

/* "START-END SIZE MTIME PATH", or "- -" for SIZE MTIME when the file
 * at PATH is not the one mapped: its pages are all in the image */
static void mapfile_print(const struct map_region *r, const struct mapfile *m,
			  FILE *f)
{
	static char path[8192], esc[4 * sizeof path];

	path_unmangle(r, path, sizeof path);
	if (str_escape(path, esc, sizeof esc) < 0)
		strcpy(esc, "?");   /* cannot happen: 4 bytes out per byte in */
	fprintf(f, "%08" PRIx64 "-%08" PRIx64 " ", r->start, r->end);
	if (m->ok)
		fprintf(f, "%lld %lld.%09ld", m->size, (long long)m->mtime.tv_sec,
			m->mtime.tv_nsec);
	else
		fputs("- -", f);
	fprintf(f, " %s\n", esc);
}

static int mapfiles_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;
	size_t i;

	for (i = 0; i < d->nreg; i++)
		if (map_is_file(&d->reg[i]))
			mapfile_print(&d->reg[i], &d->files[i], f);
	return 0;
}

/* /proc/PID/smaps as we open it (lib/kproc.c: tied to the process
 * behind the socket), for each region's VmFlags: the shim's fds hold
 * no smaps.  Without it the member is not written, and a restore
 * cannot give the regions back their flags: an error. */
static int smaps_load(struct dump *d)
{
	struct kproc k;

	if (kproc_open(&k, d->pid, d->sock) < 0)
		return -1;
	d->smaps = kproc_read(&k, "smaps", NULL);
	kproc_close(&k);
	if (!d->smaps)
		return warn("pid %d: read smaps (for the regions' VmFlags):", (int)d->pid), -1;
	return 0;
}

/* "START-END FLAGS" per region, FLAGS the VmFlags line's two-letter
 * codes as the kernel wrote them (formats/memory.md) */
static int vmflags_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;
	unsigned long long lo = 0, hi = 0, a, b;
	char *line = d->smaps, *eol, *v;
	int have = 0;

	for (; line && *line; line = eol ? eol + 1 : NULL) {
		if ((eol = strchr(line, '\n')))
			*eol = 0;
		/* a region's first line; "FilePmdMapped:" starts with a hex
		 * digit too, hence a and b until both are read */
		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && strchr(line, ' ')) {
			lo = a, hi = b;
			have = 1;
		} else if (have && !strncmp(line, "VmFlags:", 8)) {
			for (v = line + 8; *v == ' '; v++)
				;
			v[strcspn(v, "\n")] = 0;
			while (*v && v[strlen(v) - 1] == ' ')
				v[strlen(v) - 1] = 0;
			fprintf(f, "%08llx-%08llx %s\n", lo, hi, v);
			have = 0;
		}
		if (eol)
			*eol = '\n';
	}
	return 0;
}

static int pagemap_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;
	size_t i;

	for (i = 0; i < d->runs.n; i++)
		fprintf(f, "%08" PRIx64 "-%08" PRIx64 "\n", d->runs.v[i].start,
			d->runs.v[i].end);
	return 0;
}

/* the text member proc/PID/what, made by fn */
static int proc_member(struct dump *d, const char *what,
		       int (*fn)(FILE *, const void *))
{
	char name[64];

	snprintf(name, sizeof name, "proc/%d/%s", (int)d->pid, what);
	return member_from(&d->tar, name, fn, d);
}

/* Pages through the mem fd, for what vmsplice cannot take.  A page
 * that fails with EIO is stored as zeros: an orphan's pages past the
 * end of its file (a process touching them gets SIGBUS). */
static int run_copy(struct dump *d, const struct page_run *run)
{
	static char buf[CHUNK] __attribute__((aligned(4096)));
	uint64_t addr, len;
	ssize_t n;
	int r;

	for (addr = run->start; addr < run->end; addr += len) {
		len = run->end - addr < CHUNK ? run->end - addr : CHUNK;
		n = pread(d->fds[CKPT_PROCFD_MEM], buf, len, addr);
		if (n < 0 && errno == EINTR) {
			len = 0;
			continue;
		}
		if (n <= 0 && (n == 0 || errno != EIO)) {
			warn("pid %d: read memory at %" PRIx64 "%s", (int)d->pid,
			     addr, n < 0 ? ":" : ": end of file");
			return -1;
		}
		if (n < 0)
			memset(buf, 0, n = 4096);
		len = n;
		if ((r = tar_data(&d->tar, buf, len)) < 0) {
			warnerr(r, "stdout:");
			return -1;
		}
	}
	return 0;
}

/* The shim's control thread is busy until its reply; while the pipe
 * holds bytes, the reader is just slow and we wait on.  A pipe that
 * stays empty for 100 ms while no reply comes means it stopped. */
static int reply_wait(struct dump *d, struct ctl_call *c)
{
	struct timespec ts = { 0, 10000000 };
	int r, n, i;

	while ((r = ctl_recv(d->sock, c)) == -EAGAIN) {
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
static ssize_t relay_move(struct dump *d, uint64_t len)
{
	static char buf[CHUNK];
	ssize_t n;
	int r;

	if (len > CHUNK)
		len = CHUNK;
	if (!d->relay_copy) {
		n = splice(d->relay[0], NULL, 1, NULL, len, SPLICE_F_MOVE);
		if (n >= 0 || errno != EINVAL)
			return n < 0 ? -errno : n;
		d->relay_copy = 1;   /* O_APPEND, or no splice_write */
	}
	n = read(d->relay[0], buf, len);
	if (n < 0)
		return -errno;
	r = write_all(1, buf, n);
	return r < 0 ? r : n;
}

/* Drain the relay pipe into stdout while the shim fills it; its reply
 * may come before we took the last bytes, never after a stall. */
static int relay_drain(struct dump *d, struct ctl_call *c, uint64_t bytes)
{
	struct pollfd p[2] = { { d->relay[0], POLLIN, 0 }, { d->sock, POLLIN, 0 } };
	int replied = 0, r;
	ssize_t n;

	while (bytes) {
		r = poll(p, replied ? 1 : 2, 10000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		if (p[0].revents & POLLIN) {
			if ((n = relay_move(d, bytes)) < 0)
				return n;
			bytes -= n;
		} else if (!replied && p[1].revents) {
			if ((r = ctl_recv(d->sock, c)) < 0)
				return r;
			replied = 1;
		} else {
			return -EPIPE;
		}
	}
	return replied ? 0 : reply_wait(d, c);
}

/* One CKPT_OP_PAGES request: the shim vmsplices the ranges into stdout
 * itself when it is a pipe (no copy at all), else into our relay pipe,
 * which we splice on to stdout meanwhile. */
static int pages_request(struct dump *d, const struct ckpt_range *rg,
			 size_t n, uint64_t bytes)
{
	int pfd = d->out_pipe ? 1 : d->relay[1];
	struct ctl_call c = { .op = CKPT_OP_PAGES, .payload = rg,
			      .len = n * sizeof *rg, .fds = &pfd, .nfds = 1 };
	int r = ctl_send(d->sock, &c);

	if (r == 0)
		r = d->out_pipe ? reply_wait(d, &c) : relay_drain(d, &c, bytes);
	if (r == 0 && c.rep.arg != bytes)
		r = -EPROTO;
	if (r < 0) {
		warnerr(r, "pid %d: pages %" PRIx64 "-%" PRIx64 " (%zu ranges):",
			(int)d->pid, rg[0].start, rg[n - 1].start + rg[n - 1].len, n);
		return -1;
	}
	tar_advance(&d->tar, bytes);
	return 0;
}

/* the runs from i on that go in one request; returns the next i */
static size_t batch_fill(struct dump *d, size_t i, struct ckpt_range *rg,
			 size_t *n, uint64_t *bytes)
{
	const struct page_run *run;

	for (*n = 0, *bytes = 0; i < d->runs.n && *n < RANGES_MAX &&
	     *bytes < REQ_BYTES; i++) {
		run = &d->runs.v[i];
		if (run->via_mem)
			break;
		rg[*n].start = run->start;
		rg[(*n)++].len = run->end - run->start;
		*bytes += run->end - run->start;
	}
	return i;
}

/* the page data, in the order of the runs */
static int pages_send(struct dump *d)
{
	static struct ckpt_range rg[RANGES_MAX];
	uint64_t bytes;
	size_t i = 0, n;

	while (i < d->runs.n) {
		if (d->runs.v[i].via_mem) {
			if (run_copy(d, &d->runs.v[i++]) < 0)
				return -1;
			continue;
		}
		i = batch_fill(d, i, rg, &n, &bytes);
		if (pages_request(d, rg, n, bytes) < 0)
			return -1;
	}
	return 0;
}

/* Where the page data goes: F_SETPIPE_SZ 1 MiB makes fewer, larger
 * vmsplices (the default 64 KiB pipe costs ~10% at 1 GiB). */
static int out_setup(struct dump *d)
{
	struct stat st;

	if (fstat(1, &st) < 0)
		die("stdout:");
	d->out_pipe = S_ISFIFO(st.st_mode);
	if (d->out_pipe) {
		fcntl(1, F_SETPIPE_SZ, PIPE_SIZE);
		return 0;
	}
	if (pipe2(d->relay, O_CLOEXEC) < 0) {
		warn("pipe:");
		return -1;
	}
	fcntl(d->relay[1], F_SETPIPE_SZ, PIPE_SIZE);
	return 0;
}

static int pages_write(struct dump *d)
{
	char name[64];
	int r;

	snprintf(name, sizeof name, "proc/%d/pages", (int)d->pid);
	if ((r = tar_begin_aligned(&d->tar, name, d->runs.bytes)) < 0) {
		warnerr(r, "stdout: %s:", name);
		return -1;
	}
	if (out_setup(d) < 0 || pages_send(d) < 0)
		return -1;
	/* the data is whole pages: no padding, but keep the rule */
	if ((r = tar_end_member(&d->tar, d->runs.bytes)) < 0) {
		warnerr(r, "stdout: %s:", name);
		return -1;
	}
	return 0;
}

static int members_write(struct dump *d)
{
	char name[64];

	snprintf(name, sizeof name, "proc/%d/maps", (int)d->pid);
	if (member_put(&d->tar, name, d->maps, d->maps_len) < 0 ||
	    proc_member(d, "vmflags", vmflags_text) < 0 ||
	    proc_member(d, "mapfiles", mapfiles_text) < 0 ||
	    proc_member(d, "pagemap", pagemap_text) < 0)
		return -1;
	return pages_write(d);
}

static int dump_mem(struct dump *d)
{
	int r, i;

	d->relay[0] = d->relay[1] = -1;
	if (proc_fetch(d) < 0)
		return -1;
	r = maps_load(d);
	if (r == 0)
		r = smaps_load(d);
	if (r == 0)
		files_check(d);
	r = r < 0 || runs_collect(d) < 0 || members_write(d) < 0 ? -1 : 0;
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		close(d->fds[i]);
	for (i = 0; i < 2; i++)
		if (d->relay[i] >= 0)
			close(d->relay[i]);
	free(d->maps);
	free(d->smaps);
	free(d->reg);
	free(d->files);
	run_list_free(&d->runs);
	free(d->seen);
	return r;
}

/* alone: freeze, dump, end the archive, wait for the reader, thaw */
static int dump_alone(struct dump *d)
{
	int r;

	d->sock = freeze_open(d->pid, 0);
	if (d->sock < 0)
		return -1;
	r = dump_mem(d);
	/* a broken stream gets no trailer: its reader must see it cut.
	 * Vmspliced pages are the process's own until read: thaw only
	 * once the reader has taken them */
	if (r == 0)
		r = stream_out_end(&d->tar);
	if (freeze_thaw(d->sock, d->pid) < 0)
		r = -1;
	return r;
}


int main(int argc, char **argv)
{
	struct dump d = { .sock = -1 };
	const char *control = NULL, *offset = NULL;
	int c;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "c:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': control = optarg; break;
		case 'o': offset = optarg; break;
		case 'h': printf("usage: %s\n", usage_str); return 0;
		default: usage_die(usage_str);
		}
	}
	if (optind != argc - 1)
		usage_die(usage_str);
	d.pid = pid_arg(argv[optind], usage_str);
	if (!control != !offset) {
		warn("--control and --offset go together");
		usage_die(usage_str);
	}
	stdout_check();
	tar_init(&d.tar, 1, offset ? offset_arg(offset, usage_str) : 0);
	if (!control)
		return dump_alone(&d) < 0;
	if ((d.sock = control_fd_parse(control)) < 0)
		return 1;
	return dump_mem(&d) < 0;
}
