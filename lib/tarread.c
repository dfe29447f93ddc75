/* tarread.c - a streaming tar reader: ustar headers, pax 'x' records */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tarread.h"

#define BLOCK 512
#ifndef BUFSZ
#define BUFSZ (1 << 20)   /* read-ahead; the fuzz build makes it small */
#endif

static int fail(struct tar_in *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct tar_in *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *after(const struct tar_in *t)
{
	return t->last[0] ? t->last : "(start)";
}

int tar_in_init(struct tar_in *t, tar_src_fn *src, void *ctx)
{
	memset(t, 0, sizeof *t);
	t->src = src;
	t->ctx = ctx;
	if (!(t->buf = malloc(BUFSZ)))
		return fail(t, "out of memory");
	return 0;
}

void tar_in_free(struct tar_in *t)
{
	free(t->buf);
	t->buf = NULL;
}

/* refill the read-ahead: 1, 0 at the end of the source, -1 */
static int fill(struct tar_in *t)
{
	ssize_t n;

	if (t->eof)
		return 0;
	if (t->pos < t->len)
		memmove(t->buf, t->buf + t->pos, t->len - t->pos);
	t->len -= t->pos;
	t->pos = 0;
	n = t->src(t->ctx, t->buf + t->len, BUFSZ - t->len, t->err, sizeof t->err);
	if (n < 0)
		return -1;
	if (n == 0)
		t->eof = 1;
	t->len += n;
	return n > 0;
}

/* len bytes of the stream into out (NULL: skip them): the count read,
 * short only at the end of the source, or -1 */
static ssize_t take(struct tar_in *t, void *out, size_t len)
{
	size_t got = 0, n;
	ssize_t r;

	while (got < len) {
		if (t->pos == t->len) {
			/* a big read goes straight to the caller */
			if (out && len - got >= BUFSZ / 2 && !t->eof) {
				r = t->src(t->ctx, (char *)out + got, len - got, t->err, sizeof t->err);
				if (r < 0)
					return -1;
				if (r == 0)
					t->eof = 1;
				got += r;
				t->off += r;
				if (r == 0)
					break;
				continue;
			}
			r = fill(t);
			if (r < 0)
				return -1;
			if (r == 0 && t->pos == t->len)
				break;
		}
		n = t->len - t->pos < len - got ? t->len - t->pos : len - got;
		if (out)
			memcpy((char *)out + got, t->buf + t->pos, n);
		t->pos += n;
		t->off += n;
		got += n;
	}
	return got;
}

static int octal(const char *f, size_t w, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < w && f[i] == ' ')
		i++;
	if (i == w || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < w && f[i] >= '0' && f[i] <= '7'; i++) {
		if (*v >> 60)
			return -1;
		*v = *v * 8 + (f[i] - '0');
	}
	for (; i < w; i++)
		if (f[i] != ' ' && f[i] != 0)
			return -1;
	return 0;
}

static int decimal(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int ckpt_key(struct tar_in *t, const char *k, size_t klen,
		    const char *v, size_t vlen)
{
	struct tar_key *x;

	if (t->nkeys == TAR_IN_KEYS || klen == 0 || klen >= sizeof x->key ||
	    vlen >= sizeof x->val || memchr(v, 0, vlen))
		return fail(t, "after %s: bad ckpt record %.*s", after(t), (int)klen, k);
	x = &t->keys[t->nkeys++];
	memcpy(x->key, k, klen);
	x->key[klen] = 0;
	memcpy(x->val, v, vlen);
	x->val[vlen] = 0;
	return 0;
}

/* "ckpt k=v k=v ...": a packed member's records (formats/packing.md) */
static int ckpt_comment(struct tar_in *t, const char *v, size_t vlen)
{
	const char *end = v + vlen, *tok, *eq;

	for (v += 5; v < end; v = tok + 1) {
		tok = memchr(v, ' ', end - v);
		tok = tok ? tok : end;
		eq = memchr(v, '=', tok - v);
		if (!eq)
			return fail(t, "after %s: bad ckpt record", after(t));
		if (ckpt_key(t, v, eq - v, eq + 1, tok - eq - 1) < 0)
			return -1;
	}
	return 0;
}

static int pax_key(struct tar_in *t, const char *k, size_t klen,
		   const char *v, size_t vlen)
{
	if (klen == 4 && !memcmp(k, "path", 4)) {
		if (vlen == 0 || vlen >= sizeof t->name || memchr(v, 0, vlen))
			return fail(t, "after %s: bad pax path", after(t));
		memcpy(t->name, v, vlen);
		t->name[vlen] = 0;
	} else if (klen == 4 && !memcmp(k, "size", 4)) {
		if (decimal(v, vlen, &t->size) < 0)
			return fail(t, "after %s: bad pax size", after(t));
		t->pax_size = 1;
	} else if (klen == 7 && !memcmp(k, "comment", 7)) {
		if (vlen > 5 && !memcmp(v, "ckpt ", 5))
			return ckpt_comment(t, v, vlen);
		t->padded = 1;
	}
	return 0;
}

/* records "LEN key=value\n" (formats/stream.md) */
static int pax_parse(struct tar_in *t, const char *p, size_t n)
{
	size_t i, len;
	const char *eq, *rec;

	while (n > 0) {
		for (i = 0, len = 0; i < n && i < 8 && p[i] >= '0' && p[i] <= '9'; i++)
			len = len * 10 + (p[i] - '0');
		if (i == 0 || i == n || p[i] != ' ' || len <= i + 1 || len > n ||
		    p[len - 1] != '\n')
			return fail(t, "after %s: bad pax record", after(t));
		rec = p + i + 1;
		eq = memchr(rec, '=', p + len - 1 - rec);
		if (!eq || eq == rec)
			return fail(t, "after %s: bad pax record", after(t));
		if (pax_key(t, rec, eq - rec, eq + 1, p + len - 1 - (eq + 1)) < 0)
			return -1;
		p += len;
		n -= len;
	}
	return 0;
}

static int zero_block(const unsigned char *b)
{
	int i;

	for (i = 0; i < BLOCK; i++)
		if (b[i])
			return 0;
	return 1;
}

static int header_read(struct tar_in *t, unsigned char *h)
{
	ssize_t n = take(t, h, BLOCK);
	uint64_t sum = 0, want;
	int i, bad;

	if (n < 0)
		return -1;
	if (n == 0 && t->off == 0)
		return fail(t, "empty input");
	if (n == 0)
		return fail(t, "truncated after member %s: no end of archive", after(t));
	if (n < BLOCK && t->off == (uint64_t)n)
		return fail(t, "not a ckpt image: %zd bytes, truncated in the first header", n);
	if (n < BLOCK)
		return fail(t, "truncated after member %s: in a header", after(t));
	if (zero_block(h))
		return 0;
	for (i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	bad = octal((char *)h + 148, 8, &want) < 0 || sum != want;
	if ((bad || memcmp(h + 257, "ustar", 5)) && t->off == BLOCK)
		return fail(t, "not a ckpt image: it starts with no tar header");
	if (bad)
		return fail(t, "after member %s: bad tar header checksum", after(t));
	if (memcmp(h + 257, "ustar", 5))
		return fail(t, "after member %s: not a ustar header", after(t));
	return 1;
}

/* the pax header's records, then the member header it describes */
static int pax_read(struct tar_in *t, uint64_t size)
{
	char *p;
	int r;

	if (size > TAR_IN_PAXMAX)
		return fail(t, "after member %s: pax header of %" PRIu64 " bytes", after(t), size);
	if (!(p = malloc(size + 1)))
		return fail(t, "out of memory");
	r = take(t, p, size) == (ssize_t)size ? 0 : -1;
	if (r < 0 && !t->err[0])
		fail(t, "truncated after member %s: in a pax header", after(t));
	if (!r)
		r = pax_parse(t, p, size);
	free(p);
	if (!r && take(t, NULL, -size % BLOCK) != (ssize_t)(-size % BLOCK))
		r = fail(t, "truncated after member %s: in a pax header", after(t));
	return r;
}

static void name_of(struct tar_in *t, const unsigned char *h)
{
	size_t np = strnlen((char *)h + 345, 155), nn = strnlen((char *)h, 100);

	if (np)
		snprintf(t->name, sizeof t->name, "%.*s/%.*s", (int)np, h + 345, (int)nn, h);
	else
		snprintf(t->name, sizeof t->name, "%.*s", (int)nn, h);
}

int tar_in_next(struct tar_in *t)
{
	unsigned char h[BLOCK];
	uint64_t v, skip = t->left + (-t->size % BLOCK);
	int r, pax = 0;

	if (t->name[0] && take(t, NULL, skip) != (ssize_t)skip)
		return fail(t, "%s: truncated", t->name);
	t->err[0] = 0;
	t->name[0] = 0;
	t->size = t->left = 0;
	t->padded = t->nkeys = t->pax_size = 0;
	for (;;) {
		if ((r = header_read(t, h)) <= 0)
			break;
		if (octal((char *)h + 124, 12, &v) < 0)
			return fail(t, "after member %s: bad size field", after(t));
		if (h[156] == 'x' || h[156] == 'g') {
			if (pax)
				return fail(t, "after member %s: two pax headers in a row", after(t));
			pax = 1;
			if (h[156] == 'x' && pax_read(t, v) < 0)
				return -1;
			if (h[156] == 'g' && take(t, NULL, v + (-v % BLOCK)) != (ssize_t)(v + (-v % BLOCK)))
				return fail(t, "truncated after member %s", after(t));
			if (h[156] == 'g')
				pax = 0;
			continue;
		}
		if (h[156] != '0' && h[156] != 0)
			return fail(t, "after member %s: member of type '%c' is not a file",
				    after(t), h[156] >= 32 && h[156] < 127 ? h[156] : '?');
		if (!t->name[0])
			name_of(t, h);
		if (!t->pax_size)
			t->size = v;
		t->left = t->size;
		if (octal((char *)h + 136, 12, &v) < 0)
			return fail(t, "%s: bad mtime field", t->name);
		t->mtime = (int64_t)v;
		t->data_off = t->off;
		snprintf(t->last, sizeof t->last, "%s", t->name);
		return 1;
	}
	if (r < 0)
		return -1;
	if (pax)
		return fail(t, "after member %s: pax header before the end", after(t));
	/* one zero block: the second must follow */
	if ((r = header_read(t, h)) != 0) {
		if (r > 0)
			fail(t, "after member %s: a lone zero block", after(t));
		return -1;
	}
	return 0;
}

ssize_t tar_in_read(struct tar_in *t, void *buf, size_t len)
{
	ssize_t n;

	if (len > t->left)
		len = t->left;
	if (len == 0)
		return 0;
	n = take(t, buf, len);
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(t, "%s: truncated", t->name);
	t->left -= n;
	return n;
}

int tar_in_read_full(struct tar_in *t, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = tar_in_read(t, (char *)buf + got, len - got);
		if (n < 0)
			return -1;
		if (n == 0)
			return fail(t, "%s: truncated", t->name);
		got += n;
	}
	return 0;
}

ssize_t tar_in_splice(struct tar_in *t, int fd, int pipefd, size_t len, size_t *buffered)
{
	ssize_t n;

	*buffered = t->eof ? 0 : t->len - t->pos;
	if (t->eof || *buffered)
		return 0;
	if (len > t->left)
		len = t->left;
	if (len == 0)
		return 0;
	do
		n = splice(fd, NULL, pipefd, NULL, len, SPLICE_F_MOVE | SPLICE_F_MORE);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
		*buffered = len;   /* this input cannot: read it */
		return 0;
	}
	if (n <= 0)
		return n;
	t->off += n;
	t->left -= n;
	return n;
}

ssize_t tar_in_seek(struct tar_in *t, int fd, size_t len, uint64_t *at)
{
	off_t pos;

	if (t->eof || t->len - t->pos)
		return 0;
	if (len > t->left)
		len = t->left;
	if (len == 0 || (pos = lseek(fd, 0, SEEK_CUR)) < 0 || lseek(fd, len, SEEK_CUR) < 0)
		return 0;
	*at = pos;
	t->off += len;
	t->left -= len;
	return len;
}

int tar_in_skip_seek(struct tar_in *t, int fd)
{
	size_t have = t->len - t->pos;

	if (t->left <= have) {
		t->pos += t->left;
	} else {
		if (lseek(fd, t->left - have, SEEK_CUR) < 0)
			return -1;
		t->pos = t->len;
	}
	t->off += t->left;
	t->left = 0;
	return 0;
}

const char *tar_in_key(const struct tar_in *t, const char *key)
{
	int i;

	for (i = 0; i < t->nkeys; i++)
		if (!strcmp(t->keys[i].key, key))
			return t->keys[i].val;
	return NULL;
}
