/* stream.c - a raw stream read member by member through libarchive.
 * archive_read_support_filter_all() undoes gzip, zstd, xz, bzip2 and
 * lz4 framing of the whole stream on the way in. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "stream.h"

#define BLOCK 512

int stream_open(struct stream *s, const char *path, int fd, const char *what)
{
	int r;

	memset(s, 0, sizeof *s);
	s->what = what;
	if (!(s->a = archive_read_new())) {
		warn("%s: out of memory", what);
		return -1;
	}
	archive_read_support_filter_all(s->a);
	archive_read_support_format_tar(s->a);
	if (path)
		r = archive_read_open_filename(s->a, path, 1 << 20);
	else
		r = archive_read_open_fd(s->a, fd, 1 << 20);
	if (r != ARCHIVE_OK) {
		warn("%s: %s", what, archive_error_string(s->a));
		return -1;
	}
	return 0;
}

static int trailer_check(struct stream *s)
{
	/* libarchive takes a clean end at a header boundary for the end:
	 * the bytes it consumed tell whether the two zero blocks were read */
	if (s->last[0] && archive_filter_bytes(s->a, 0) < (int64_t)(s->end + 2 * BLOCK)) {
		warn("%s: truncated after member %s", s->what, s->last);
		return -1;
	}
	return 0;
}

int stream_next(struct stream *s)
{
	struct archive_entry *e;
	int r;

	if (s->left && stream_skip(s) < 0)
		return -1;
	r = archive_read_next_header(s->a, &e);
	if (r == ARCHIVE_EOF)
		return trailer_check(s) < 0 ? -1 : 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		warn("%s: after member %s: %s", s->what, s->last[0] ? s->last : "(none)",
		     archive_error_string(s->a));
		return -1;
	}
	if (archive_entry_filetype(e) != AE_IFREG) {
		warn("%s: member %s: not a regular member", s->what, archive_entry_pathname(e));
		return -1;
	}
	snprintf(s->name, sizeof s->name, "%s", archive_entry_pathname(e));
	snprintf(s->last, sizeof s->last, "%s", s->name);
	s->size = s->left = archive_entry_size(e);
	s->end = archive_filter_bytes(s->a, 0) + ((s->size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
	return 1;
}

int stream_read(struct stream *s, void *buf, size_t len)
{
	char *p = buf;
	la_ssize_t n;

	if (len > s->left) {
		warn("%s: member %s: %zu bytes wanted, %llu left", s->what, s->name,
		     len, (unsigned long long)s->left);
		return -1;
	}
	while (len) {
		n = archive_read_data(s->a, p, len);
		if (n <= 0) {
			warn("%s: member %s: %s", s->what, s->name,
			     n ? archive_error_string(s->a) : "truncated");
			return -1;
		}
		p += n;
		len -= n;
		s->left -= n;
	}
	return 0;
}

char *stream_slurp(struct stream *s, size_t max, size_t *lenp)
{
	char *buf;

	if (s->left > max) {
		warn("%s: member %s: %llu bytes, more than %zu", s->what, s->name,
		     (unsigned long long)s->left, max);
		return NULL;
	}
	if (!(buf = malloc(s->left + 1))) {
		warn("%s: member %s: out of memory", s->what, s->name);
		return NULL;
	}
	*lenp = s->left;
	if (stream_read(s, buf, s->left) < 0) {
		free(buf);
		return NULL;
	}
	buf[*lenp] = 0;
	return buf;
}

int stream_skip(struct stream *s)
{
	static char buf[1 << 16];
	size_t n;

	while (s->left) {
		n = s->left < sizeof buf ? s->left : sizeof buf;
		if (stream_read(s, buf, n) < 0)
			return -1;
	}
	return 0;
}

void stream_close(struct stream *s)
{
	if (s->a)
		archive_read_free(s->a);
	s->a = NULL;
}
