/* tar.c - writing ustar headers, with pax records where ustar falls short */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "progress.h"
#include "tar.h"

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12];
	char chksum[8], typeflag, linkname[100], magic[6], version[2];
	char uname[32], gname[32], devmajor[8], devminor[8], prefix[155];
	char pad[12];
};

_Static_assert(sizeof(struct ustar) == TAR_BLOCK, "ustar header size");

static const char zeros[TAR_BLOCK];

void tar_init(struct tar_out *t, int fd, uint64_t off)
{
	t->fd = fd;
	t->off = off;
	t->mtime = time(NULL);
	t->buf = NULL;
	t->blen = t->bcap = 0;
}

void tar_advance(struct tar_out *t, uint64_t n)
{
	t->off += n;
	progress_out(t->off);
}

int tar_buffer(struct tar_out *t, size_t cap)
{
	if (!(t->buf = malloc(cap)))
		return -ENOMEM;
	t->blen = 0;
	t->bcap = cap;
	return 0;
}

int tar_flush(struct tar_out *t)
{
	int r = t->blen ? write_all(t->fd, t->buf, t->blen) : 0;

	t->blen = 0;
	return r;
}

int tar_buffer_end(struct tar_out *t)
{
	int r = t->buf ? tar_flush(t) : 0;

	free(t->buf);
	t->buf = NULL;
	t->bcap = 0;
	return r;
}

/* len bytes out, or into the buffer when they fit in it */
static int out(struct tar_out *t, const void *buf, size_t len)
{
	int r = 0;

	if (t->buf && t->blen + len > t->bcap)
		r = tar_flush(t);
	if (r == 0 && t->buf && len < t->bcap) {
		memcpy(t->buf + t->blen, buf, len);
		t->blen += len;
		return 0;
	}
	return r ? r : write_all(t->fd, buf, len);
}

int tar_data(struct tar_out *t, const void *buf, size_t len)
{
	int r = out(t, buf, len);

	if (!r)
		t->off += len;
	progress_out(t->off);
	return r;
}

/* v in width - 1 octal digits, zero-padded, and a NUL (by hand: six
 * snprintf calls a header were most of writing 2200 small members) */
static void octal(char *field, size_t width, uint64_t v)
{
	size_t i = width - 1;

	field[i] = 0;
	while (i-- > 0) {
		field[i] = '0' + (v & 7);
		v >>= 3;
	}
}

static int write_header(struct tar_out *t, const char *name, uint64_t size,
			char type)
{
	struct ustar h;
	unsigned sum = 0;
	size_t i;

	memset(&h, 0, sizeof h);
	/* a name too long for ustar, or a size over 8 GiB, is carried
	 * in a pax record before this header; these fields then hold a
	 * truncated name and zero, as POSIX allows */
	memcpy(h.name, name, strnlen(name, sizeof h.name));
	octal(h.mode, sizeof h.mode, 0600);
	octal(h.uid, sizeof h.uid, getuid() & 07777777);
	octal(h.gid, sizeof h.gid, getgid() & 07777777);
	octal(h.size, sizeof h.size, size < 077777777777ULL ? size : 0);
	octal(h.mtime, sizeof h.mtime, (uint64_t)t->mtime);
	h.typeflag = type;
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	memcpy(h.uname, "ckpt", 5);
	memcpy(h.gname, "ckpt", 5);
	memset(h.chksum, ' ', sizeof h.chksum);
	for (i = 0; i < sizeof h; i++)
		sum += ((unsigned char *)&h)[i];
	snprintf(h.chksum, sizeof h.chksum, "%06o", sum);
	return tar_data(t, &h, sizeof h);
}

/* one pax record "LEN key=value\n": LEN counts its own digits */
size_t tar_pax_record(char *out, size_t cap, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, len = body + 1;

	while (snprintf(NULL, 0, "%zu", len) + body != len)
		len++;
	return snprintf(out, cap, "%zu %s=%s\n", len, key, val);
}

/* pax records for what ustar cannot say, then the caller's recs, plus a
 * comment of pad bytes when pad > 0 (pad is the wanted size of the
 * whole pax data) */
static int write_pax(struct tar_out *t, const char *name, uint64_t size,
		     size_t pad, const char *recs, size_t reclen)
{
	char buf[8192], num[32], fill[4096];
	size_t n = 0, want, r;
	int w;

	if (strlen(name) > 100)
		n += tar_pax_record(buf + n, sizeof buf - n, "path", name);
	if (size >= 077777777777ULL) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)size);
		n += tar_pax_record(buf + n, sizeof buf - n, "size", num);
	}
	if (reclen > sizeof buf - n - 1)
		return -ENAMETOOLONG;
	if (reclen) {
		memcpy(buf + n, recs, reclen);
		n += reclen;
	}
	if (pad > n) {
		/* "LEN comment=...\n": choose the filler so LEN adds up */
		want = pad - n;
		for (r = want > 16 ? want - 16 : 0; r < sizeof fill; r++) {
			memset(fill, 'x', r);
			fill[r] = 0;
			if (tar_pax_record(NULL, 0, "comment", fill) == want)
				break;
		}
		if (r == sizeof fill)
			return -EINVAL;
		n += tar_pax_record(buf + n, sizeof buf - n, "comment", fill);
	}
	if (n == 0 && pad == 0)
		return 0;
	if (n >= sizeof buf)
		return -ENAMETOOLONG;
	w = write_header(t, "././@PaxHeader", n, 'x');
	if (w < 0)
		return w;
	memset(buf + n, 0, sizeof buf - n < TAR_BLOCK ? sizeof buf - n : TAR_BLOCK);
	return tar_data(t, buf, (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK);
}

int tar_begin(struct tar_out *t, const char *name, uint64_t size)
{
	return tar_begin_pax(t, name, size, NULL, 0);
}

int tar_begin_pax(struct tar_out *t, const char *name, uint64_t size,
		  const char *recs, size_t len)
{
	int r = write_pax(t, name, size, 0, recs, len);

	return r ? r : write_header(t, name, size, '0');
}

static size_t pax_len(const char *name, uint64_t size)
{
	char buf[8192], num[32];
	size_t n = 0;

	if (strlen(name) > 100)
		n += tar_pax_record(buf, sizeof buf, "path", name);
	if (size >= 077777777777ULL) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)size);
		n += tar_pax_record(buf + n, sizeof buf - n, "size", num);
	}
	return n;
}

int tar_begin_aligned(struct tar_out *t, const char *name, uint64_t size)
{
	uint64_t need = pax_len(name, size), at, blocks;
	int r;

	/* data starts after [pax header + pax data] + header; grow the
	 * pax data a block at a time until that lands on a page */
	at = t->off + TAR_BLOCK;
	if (!need && at % TAR_PAGE == 0)
		return write_header(t, name, size, '0');
	for (blocks = (need + TAR_BLOCK - 1) / TAR_BLOCK;; blocks++) {
		if (blocks * TAR_BLOCK < need + 24)
			continue;  /* room for the comment record */
		if ((t->off + 2 * TAR_BLOCK + blocks * TAR_BLOCK) % TAR_PAGE == 0)
			break;
	}
	r = write_pax(t, name, size, blocks * TAR_BLOCK, NULL, 0);
	return r ? r : write_header(t, name, size, '0');
}

int tar_end_member(struct tar_out *t, uint64_t size)
{
	size_t rest = size % TAR_BLOCK;

	return rest ? tar_data(t, zeros, TAR_BLOCK - rest) : 0;
}

int tar_member(struct tar_out *t, const char *name, const void *buf, size_t len)
{
	int r = tar_begin(t, name, len);

	if (!r)
		r = tar_data(t, buf, len);
	if (!r)
		r = tar_end_member(t, len);
	return r;
}

int tar_finish(struct tar_out *t)
{
	int r = tar_data(t, zeros, TAR_BLOCK);

	if (!r)
		r = tar_data(t, zeros, TAR_BLOCK);
	if (!r)
		r = tar_flush(t);
	if (!r)
		progress_done(PROGRESS_OUT);
	return r;
}
