/* stream.h - reading an image member by member, front to back, never
 * seeking: a raw stream or a packed image (formats/packing.md), either
 * of them compressed as a whole (gzip, zstd, xz, bzip2, lz4: undone by
 * libarchive), from a file or a pipe.  Checksums of packed members are
 * checked before their bytes are handed out (lib/pack.c).
 *
 * Every function that fails has printed why (naming the input and the
 * member) and returns -1: a caller only adds what it was doing. */
#ifndef CKPT_STREAM_H
#define CKPT_STREAM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pack_in;

struct stream {
	struct pack_in *in;
	int fd;                /* the file we opened, or -1 */
	const char *what;      /* the input, for messages: a path or "stdin" */
	char name[4096];       /* the current member, as in the raw stream */
	char last[4096];       /* the last member whose header was read */
	uint64_t size;         /* the current member's size */
	uint64_t left;         /* its bytes not read yet */
};

/* Open path, or fd when path is NULL (what names it).  0 or -1. */
int stream_open(struct stream *s, const char *path, int fd, const char *what);
/* The next member's header: 1, 0 at the end of the archive, -1.  The
 * end is only an end when the two zero blocks were there: a stream cut
 * at a member boundary is reported truncated. */
int stream_next(struct stream *s);
/* exactly len bytes of the current member's data: 0 or -1 */
int stream_read(struct stream *s, void *buf, size_t len);
/* Up to len bytes of the current member moved into the pipe pipefd
 * without a copy (splice), when the input is a plain file or pipe read
 * as it is (a raw stream: no pack, no compression) and none of the
 * member's next bytes sit in a buffer already.  The count; 0: not
 * possible now (*buffered: how many bytes stream_read should take
 * first, 0 for all of them), or the input ended (stream_read says so);
 * -1: writing the pipe failed (errno), nothing printed. */
ssize_t stream_splice(struct stream *s, int pipefd, size_t len, size_t *buffered);
/* The rest of the current member skipped, when the input is a raw
 * stream in a regular file and nothing of the rest is read ahead:
 * its length, with *fd the file and *at the offset of the rest in it
 * (for a splice of its own); 0 when not (read it). */
ssize_t stream_seek(struct stream *s, int *fd, uint64_t *at);
/* the rest of the current member, malloc'd and NUL-terminated (at
 * most max bytes, else an error); *lenp gets its length.  NULL: -1 */
char *stream_slurp(struct stream *s, size_t max, size_t *lenp);
/* skip the rest of the current member: 0 or -1 */
int stream_skip(struct stream *s);
void stream_close(struct stream *s);

#endif
