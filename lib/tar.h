/* tar.h - writing the raw stream: POSIX (pax) tar members to an fd.
 *
 * The writer counts the bytes it has put out, so that tar_begin_aligned
 * can pad with a pax header and start a member's data at a multiple of
 * 4096 from the start of the stream (formats/stream.md). */
#ifndef CKPT_TAR_H
#define CKPT_TAR_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TAR_BLOCK 512
#define TAR_PAGE 4096

struct tar_out {
	int fd;
	uint64_t off;       /* bytes written since the stream began */
	time_t mtime;       /* stamped on every member */
	char *buf;          /* tar_buffer: what is not written yet */
	size_t blen, bcap;
};

void tar_init(struct tar_out *t, int fd, uint64_t off);
/* All return 0 or -errno. */
/* header of a regular member of size bytes; data follows */
int tar_begin(struct tar_out *t, const char *name, uint64_t size);
/* the same, with more pax records: recs holds len bytes of records
 * made by tar_pax_record */
int tar_begin_pax(struct tar_out *t, const char *name, uint64_t size,
		  const char *recs, size_t len);
/* one pax record "LEN key=value\n" into out (cap bytes, NULL to
 * measure): its length */
size_t tar_pax_record(char *out, size_t cap, const char *key, const char *val);
/* the same as tar_begin, but the data will start at a multiple of TAR_PAGE */
int tar_begin_aligned(struct tar_out *t, const char *name, uint64_t size);
int tar_data(struct tar_out *t, const void *buf, size_t len);
/* zeros up to the next block boundary, after size bytes of data */
int tar_end_member(struct tar_out *t, uint64_t size);
/* a whole member from a buffer */
int tar_member(struct tar_out *t, const char *name, const void *buf, size_t len);
/* the two zero blocks that end an archive */
int tar_finish(struct tar_out *t);
/* From now on small writes (less than cap bytes) are gathered in a
 * buffer of cap bytes, written when full: a stream of many small
 * members (ckpt-dumpfds' queues of 2200 sockets) made 6600 writes, and
 * as many wakeups of its reader.  0 or -ENOMEM (then unbuffered).
 * Whoever writes to t->fd by other means calls tar_flush first. */
int tar_buffer(struct tar_out *t, size_t cap);
/* what the buffer holds, written: 0 or -errno */
int tar_flush(struct tar_out *t);
/* tar_flush, and the buffer freed: writes go straight out again */
int tar_buffer_end(struct tar_out *t);
/* note that n bytes were written to t->fd by other means (splice) */
void tar_advance(struct tar_out *t, uint64_t n);

#endif
