/* tarread.h - reading a tar stream member by member from a byte
 * source, never seeking, with the pax records ckpt needs: path, size,
 * comment (that the writer padded the data to a page) and every
 * CKPT.* key (formats/packing.md), which libarchive does not pass on.
 *
 * Errors are returned as -1 with the reason in t->err, naming the
 * member ("proc/12/maps: truncated"). */
#ifndef CKPT_TARREAD_H
#define CKPT_TARREAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TAR_IN_KEYS 8      /* CKPT.* records kept per member */
#define TAR_IN_PAXMAX (1 << 16)

/* bytes read into buf (0 at the end), or -1 with a message in err */
typedef ssize_t tar_src_fn(void *ctx, void *buf, size_t len, char *err, size_t errlen);

struct tar_key {
	char key[32];          /* without the "CKPT." */
	char val[96];
};

struct tar_in {
	tar_src_fn *src;
	void *ctx;
	unsigned char *buf;    /* read-ahead from src */
	size_t pos, len;
	int eof;
	uint64_t off;          /* stream offset of buf[pos] */
	/* the member whose header tar_in_next read */
	char name[4096];
	uint64_t size;
	int64_t mtime;
	uint64_t data_off;     /* stream offset of its data */
	int padded;            /* a pax comment record came before it */
	struct tar_key keys[TAR_IN_KEYS];
	int nkeys;
	int pax_size;          /* its size came from a pax record */
	uint64_t left;         /* its data bytes not read yet */
	char last[4096];       /* the last member read, for messages */
	char err[4400];
};

int tar_in_init(struct tar_in *t, tar_src_fn *src, void *ctx);
void tar_in_free(struct tar_in *t);
/* the next member's header: 1, 0 after the two zero blocks that end
 * the archive, -1 */
int tar_in_next(struct tar_in *t);
/* up to len bytes of the member's data: the count, 0 at its end, -1 */
ssize_t tar_in_read(struct tar_in *t, void *buf, size_t len);
/* exactly len bytes of data: 0 or -1 (truncated member, read error) */
int tar_in_read_full(struct tar_in *t, void *buf, size_t len);
/* The rest of the member's data skipped without reading it, fd being
 * the source, a file that seeks: what the read-ahead holds of it
 * dropped, fd moved past the rest.  0, or -1 (lseek: nothing changed) */
int tar_in_skip_seek(struct tar_in *t, int fd);
/* Up to len bytes of the member's data moved with splice(2) from fd,
 * the source's own file (whose next bytes are the ones src would read
 * next), into the pipe pipefd, when none of them sit in the read-ahead.
 * The count; 0 when not possible now (*buffered: how many bytes
 * tar_in_read should take first, 0 for all of them: fd cannot splice)
 * or at the source's end; -1 when splice failed (errno; err not set). */
ssize_t tar_in_splice(struct tar_in *t, int fd, int pipefd, size_t len, size_t *buffered);
/* the value of record CKPT.key of the member, or NULL */
/* Up to len bytes of the member skipped by seeking fd forward, when
 * nothing is read ahead and fd can seek: the count, with *at the
 * offset in fd where they start; 0 when not (read them). */
ssize_t tar_in_seek(struct tar_in *t, int fd, size_t len, uint64_t *at);
const char *tar_in_key(const struct tar_in *t, const char *key);

#endif
