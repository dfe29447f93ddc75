/* ckpt-unpack - a packed image (or a raw stream, compressed or not) in,
 * the raw stream out, byte for byte as ckpt-freeze wrote it; or an
 * incremental chain, base first, merged into one full raw stream
 * (lib/chain.c).  Nothing
 * goes out before its checksum matched: a bad member stops the stream
 * there, with no trailer, so the next reader sees it cut.
 * SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chain.h"
#include "err.h"
#include "progress.h"
#include "io.h"
#include "pack.h"
#include "tar.h"

#define BUF (1 << 20)

static const char usage_str[] = "ckpt-unpack [--progress|-q] [IMAGE | BASE INC...] > RAW";

/* --progress, -q (lib/progress.h) */
static enum progress_mode progress_mode = PROGRESS_AUTO;

static const struct option options[] = {
	{ "progress", no_argument, NULL, 'P' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void out_check(int r)
{
	if (r < 0)
		dieerr(r, "writing the output:");
}

/* one member: its header goes out with its first verified bytes */
static void unpack_member(struct pack_in *in, struct tar_out *t, unsigned char *buf)
{
	const struct pack_member *m = &in->m;
	uint64_t done = 0;
	ssize_t n = pack_in_read(in, buf, BUF);

	if (n < 0)
		die("%s", in->err);
	t->mtime = m->mtime;
	out_check(m->align ? tar_begin_aligned(t, m->name, m->size) :
		  tar_begin(t, m->name, m->size));
	while (n > 0) {
		out_check(tar_data(t, buf, n));
		done += n;
		if ((n = pack_in_read(in, buf, BUF)) < 0)
			die("%s", in->err);
	}
	if (done != m->size)
		die("%s: %llu bytes, not %llu", m->name, (unsigned long long)done,
		    (unsigned long long)m->size);
	out_check(tar_end_member(t, m->size));
}

int main(int argc, char **argv)
{
	struct pack_in in;
	struct tar_out t;
	unsigned char *buf;
	int c, fd = 0, r;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
		switch (c) {
		case 'P': progress_mode = PROGRESS_ON; break;
		case 'q': progress_mode = PROGRESS_OFF; break;
		case 'h':
			printf("usage: %s\n", usage_str);
			return 0;
		default:
			usage_die(usage_str);
		}
	}
	if (isatty(1))
		die("will not write a stream to a terminal");
	if ((r = fd_private(1)) < 0)
		dieerr(r, "stdout: make it 0600:");
	if (argc - optind > 1)
		return chain_merge(argv + optind, argc - optind, 1) < 0;
	if (optind < argc && (fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0)
		die("%s:", argv[optind]);
	if (!(buf = malloc(BUF)))
		die("out of memory");
	progress_start(PROGRESS_IN, progress_mode, 0);
	if (pack_in_open(&in, fd, 0) < 0)
		die("%s", in.err);
	tar_init(&t, 1, 0);
	while ((r = pack_in_next(&in)) > 0)
		unpack_member(&in, &t, buf);
	if (r < 0)
		die("%s", in.err);
	out_check(tar_finish(&t));
	pack_in_close(&in);
	free(buf);
	return 0;
}
