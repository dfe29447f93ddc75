/* ckpt-pack - a raw stream in, a packed image out: every member of
 * PACK_MIN bytes or more in lz4 parts, each member's checksum in its
 * pax header, the manifest saying "packed 1" (formats/packing.md).
 * SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "err.h"
#include "progress.h"
#include "io.h"
#include "pack.h"
#include "packout.h"

static const char usage_str[] = "ckpt-pack [--level N] [--threads N] [--progress|-q] < RAW > IMAGE";

/* --progress, -q (lib/progress.h) */
static enum progress_mode progress_mode = PROGRESS_AUTO;

static const struct option options[] = {
	{ "level", required_argument, NULL, 'l' },
	{ "threads", required_argument, NULL, 't' },
	{ "progress", no_argument, NULL, 'P' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* a number option's argument in [lo, hi], or a usage error naming it */
static int num_opt(const char *opt, const char *s, unsigned long long lo,
		   unsigned long long hi)
{
	uint64_t v;

	if (num_parse(s, hi, &v) < 0 || v < lo) {
		warn("%s %s: not a number from %llu to %llu", opt, s, lo, hi);
		usage_die(usage_str);
	}
	return v;
}

/* len bytes of the current member into buf */
static void read_full(struct pack_in *in, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pack_in_read(in, buf + got, len - got);
		if (n < 0)
			die("%s", in->err);
		if (n == 0)
			die("%s: shorter than its header says", in->m.name);
		got += n;
	}
}

static unsigned char *slot(struct pack_out *o)
{
	unsigned char *buf = pack_out_buf(o);

	if (!buf)
		die("%s", pack_out_error(o));
	return buf;
}

static void put(struct pack_out *o, const struct pack_member *m, int lz4,
		uint64_t off, size_t len)
{
	if (pack_out_put(o, m, lz4, off, len) < 0)
		die("%s", pack_out_error(o));
}

static void pack_member(struct pack_in *in, struct pack_out *o, int first)
{
	const struct pack_member *m = &in->m;
	unsigned char *buf;
	uint64_t off;
	size_t len;

	if (first || m->size < PACK_MIN) {
		buf = slot(o);
		read_full(in, buf, m->size);
		if (first && pack_manifest_set((char *)buf, m->size, '1') < 0)
			die("%s: no \"packed\" line", m->name);
		put(o, m, 0, 0, m->size);
		return;
	}
	for (off = 0; off < m->size; off += len) {
		len = m->size - off < PACK_PART ? m->size - off : PACK_PART;
		buf = slot(o);
		read_full(in, buf, len);
		put(o, m, 1, off, len);
	}
}

/* the options into level and threads; exits on --help or a bad one */
static void parse(int argc, char **argv, int *level, int *threads)
{
	int c;

	while ((c = getopt_long(argc, argv, "l:t:qh", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			*level = num_opt("--level", optarg, 1, 12);
			break;
		case 't':
			*threads = num_opt("--threads", optarg, 1, 64);
			break;
		case 'P': progress_mode = PROGRESS_ON; break;
		case 'q': progress_mode = PROGRESS_OFF; break;
		case 'h':
			printf("usage: %s\n", usage_str);
			exit(0);
		default:
			usage_die(usage_str);
		}
	}
	if (optind != argc)
		usage_die(usage_str);
}

/* every member of a raw stream, the first already read, packed */
static void pack_all(struct pack_in *in, int level, int threads)
{
	struct pack_out *o;
	int r;

	in->src.recording = 0;
	if (!(o = pack_out_new(1, level, threads)))
		die("out of memory");
	pack_member(in, o, 1);
	while ((r = pack_in_next(in)) > 0)
		pack_member(in, o, 0);
	if (r < 0)
		die("%s", in->err);
	if (pack_out_finish(o) < 0)
		die("%s", pack_out_error(o));
	pack_out_free(o);
}

int main(int argc, char **argv)
{
	struct pack_in in;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int level = 1, threads = ncpu > 0 ? (ncpu < 64 ? ncpu : 64) : 1, r;

	prog_init(argv);
	parse(argc, argv, &level, &threads);
	if (isatty(1))
		die("will not write an image to a terminal");
	if ((r = fd_private(1)) < 0)
		dieerr(r, "stdout: make it 0600:");
	progress_start(PROGRESS_IN, progress_mode, 0);
	if (pack_in_open(&in, 0, 1) < 0 || pack_in_next(&in) <= 0)
		die("%s", in.err[0] ? in.err : "empty input");
	if (in.packed) {
		/* already packed: unchanged, not even checked */
		if (pack_in_passthrough(&in, 1) < 0)
			die("%s", in.err);
	} else {
		pack_all(&in, level, threads);
	}
	pack_in_close(&in);
	return 0;
}
