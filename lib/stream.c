/* stream.c - an image read member by member, front to back: through
 * lib/pack.c, so a raw stream, a packed image (lz4 members, checksums
 * checked before any byte is handed out) and either compressed as a
 * whole (libarchive's decompressors) all read the same. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pack.h"
#include "stream.h"

int stream_open(struct stream *s, const char *path, int fd, const char *what)
{
	memset(s, 0, sizeof *s);
	s->what = what;
	s->fd = -1;
	if (path && (fd = s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		warn("%s:", path);
		return -1;
	}
	if (!(s->in = calloc(1, sizeof *s->in))) {
		warn("%s: out of memory", what);
		stream_close(s);
		return -1;
	}
	if (pack_in_open(s->in, fd, 0) < 0) {
		warn("%s: %s", what, s->in->err);
		stream_close(s);
		return -1;
	}
	return 0;
}

int stream_next(struct stream *s)
{
	int r = pack_in_next(s->in);

	if (r < 0) {
		warn("%s: %s", s->what, s->in->err);
		return -1;
	}
	if (r == 0)
		return 0;
	snprintf(s->name, sizeof s->name, "%s", s->in->m.name);
	snprintf(s->last, sizeof s->last, "%s", s->name);
	s->size = s->left = s->in->m.size;
	return 1;
}

int stream_read(struct stream *s, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	if (len > s->left) {
		warn("%s: member %s: %zu bytes wanted, %llu left", s->what, s->name,
		     len, (unsigned long long)s->left);
		return -1;
	}
	while (len) {
		n = pack_in_read(s->in, p, len);
		if (n <= 0) {
			warn("%s: %s", s->what, n ? s->in->err : "truncated");
			return -1;
		}
		p += n;
		len -= n;
		s->left -= n;
	}
	return 0;
}

ssize_t stream_splice(struct stream *s, int pipefd, size_t len, size_t *buffered)
{
	ssize_t n;

	if (len > s->left)
		len = s->left;
	if ((n = pack_in_splice(s->in, pipefd, len, buffered)) > 0)
		s->left -= n;
	return n;
}

ssize_t stream_seek(struct stream *s, int *fd, uint64_t *at)
{
	struct stat st;
	ssize_t n;

	if (fstat(s->in->src.fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((n = pack_in_seek(s->in, s->left, fd, at)) > 0)
		s->left -= n;
	return n;
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
	if (s->in) {
		pack_in_close(s->in);
		free(s->in);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->in = NULL;
	s->fd = -1;
}
