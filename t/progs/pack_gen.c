/* pack_gen - a synthetic raw stream with members at the sizes where
 * packing changes: 0, 1, 4095 and 4096 bytes (the lz4 threshold),
 * one part exactly, one part and a byte, a long name (a pax path), and
 * page-aligned members that start at every offset mod 4096.
 *
 * usage: pack_gen > RAW
 *
 * Written with ckpt's own tar writer (lib/tar.c, included here: test
 * programs link nothing), so the stream is what ckpt-freeze would
 * write and ckpt-unpack must give it back byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "io.c"
#include "tar.c"

/* the writer reports its progress (lib/progress.h): nobody listens */
void progress_out(uint64_t done)
{
	(void)done;
}

void progress_done(enum progress_side side)
{
	(void)side;
}

#define MIB (1 << 20)

static uint64_t rnd = 88172645463325252ULL;

/* half noise, half text, so lz4 has something to do either way */
static void fill(unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		p[i] = (i / 3000) % 2 ? (unsigned char)rnd : "ckpt packs me "[i % 14];
	}
}

static void member(struct tar_out *t, const char *name, size_t len, int aligned)
{
	unsigned char *p = malloc(len + 1);

	if (!p)
		exit(1);
	fill(p, len);
	if ((aligned ? tar_begin_aligned(t, name, len) : tar_begin(t, name, len)) ||
	    tar_data(t, p, len) || tar_end_member(t, len))
		exit(1);
	free(p);
}

int main(void)
{
	static const char manifest[] = "ckpt-image 1\ntool pack_gen 0.1\n"
		"kernel 6.1.0\narch x86_64\ntime 1.000000000\n"
		"id 0123456789abcdef0123456789abcdef\nparent -\npacked 0\n"
		"root 1\nproc 1 0\n";
	static const size_t sizes[] = { 0, 1, 4095, 4096, 8 * MIB, 8 * MIB + 1, 3 * 4096 + 7 };
	struct tar_out t;
	char name[300];
	size_t i;

	tar_init(&t, 1, 0);
	if (tar_member(&t, "ckpt/manifest", manifest, sizeof manifest - 1))
		return 1;
	for (i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		snprintf(name, sizeof name, "proc/1/m%zu", sizes[i]);
		member(&t, name, sizes[i], 0);
	}
	snprintf(name, sizeof name, "proc/1/files/%0120d", 7);
	member(&t, name, 5000, 0);
	for (i = 0; i < 9; i++) {
		snprintf(name, sizeof name, "proc/1/pages%zu", i);
		member(&t, name, 4096 * (i + 1), 1);
		member(&t, "proc/1/gap", 100 + 517 * i, 0);
	}
	return tar_finish(&t) ? 1 : 0;
}
