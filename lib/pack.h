/* pack.h - packed images (formats/packing.md): the framing of packed
 * members and their checksums, and a reader that turns any input -- a
 * packed image or a raw stream, compressed or not -- back into the raw
 * stream's members, handing out only bytes whose checksum matched.
 *
 * The reader's errors are -1 with the reason in p->err, naming the
 * member ("proc/12/pages.lz4.3: checksum mismatch"). */
#ifndef CKPT_PACK_H
#define CKPT_PACK_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tarread.h"

#define PACK_MIN  4096            /* members this big are lz4-framed */
#ifndef PACK_PART
#define PACK_PART (8u << 20)      /* original bytes in one lz4 part */
#endif
#define PACK_PLAIN_MAX (1u << 20) /* a plain member a reader accepts */
#define PACK_MANIFEST "ckpt/manifest"

/* the bytes of one part at most, its lz4 frame included */
size_t pack_zbound(size_t len);
/* one part: len bytes of in as one lz4 frame into out (cap >=
 * pack_zbound(len)); level 1-2 fast, 3-12 HC.  The frame's size, or 0 */
size_t pack_frame(const void *in, size_t len, void *out, size_t cap, int level);
/* the CKPT.* pax records of a packed member or part into out (cap
 * bytes): the original member's size, its alignment, the part's
 * offset (-1: a plain member) and the hash of the part's original
 * bytes.  Their length */
size_t pack_pax(char *out, size_t cap, uint64_t size, int align,
		int64_t lz4off, uint64_t hash);
/* the manifest's "packed" line set to v ('0' or '1'): 0, or -1 when
 * the manifest has no such line */
int pack_manifest_set(char *text, size_t len, char v);

/* the input: a file descriptor, through libarchive's decompressors
 * unless it is a plain tar stream; or bytes in memory (tests, fuzz) */
struct pack_src {
	int fd;
	struct archive *a;
	const unsigned char *mem;
	size_t memlen, mempos;
	unsigned char head[512];   /* the sniffed start of fd */
	size_t headlen, headpos;
	unsigned char *rec;        /* bytes handed out while recording */
	size_t reclen, reccap;
	int recording;
	unsigned char *abuf;       /* libarchive's read buffer */
	uint64_t nread;            /* bytes read from fd: the image as
	                            * stored (ckpt-show's ratio) */
};

/* the member being read, as it stands in the raw stream */
struct pack_member {
	char name[4096];
	uint64_t size;
	int64_t mtime;
	int align;                 /* data page-aligned in the raw stream */
	uint64_t stored;           /* its tar data as stored: the sum of its
	                            * parts' sizes, whole once it is read */
};

struct pack_in {
	struct pack_src src;
	struct tar_in tar;
	int packed;                /* the manifest says packed 1 */
	int nmembers;
	struct pack_member m;
	uint64_t done;             /* bytes of m handed out or in piece */
	int lz4;                   /* m comes in lz4 parts */
	unsigned part;             /* the next part's index */
	unsigned char *piece;      /* verified bytes not handed out yet */
	size_t piecelen, piecepos;
	unsigned char *raw, *z;    /* part buffers */
	void *dctx;                /* LZ4F_dctx */
	char err[4600];
};

/* Open fd (record: keep a copy of every byte read, for
 * pack_in_passthrough).  0, or -1 with p->err set */
int pack_in_open(struct pack_in *p, int fd, int record);
int pack_in_open_mem(struct pack_in *p, const void *buf, size_t len);
/* the next member: 1 with p->m set, 0 at the end of the archive, -1.
 * The first member must be the manifest; p->packed is set then. */
int pack_in_next(struct pack_in *p);
/* up to len verified bytes of the member's original data: the count,
 * 0 at its end, -1 */
ssize_t pack_in_read(struct pack_in *p, void *buf, size_t len);
/* Up to len bytes of the member moved into the pipe pipefd without a
 * copy (tar_in_splice), when the input is a raw stream read as it is
 * from a plain file or pipe: the count; 0 when not possible now
 * (*buffered: how many bytes pack_in_read should take first, 0 for all
 * of them) or at the input's end; -1 when splice failed (errno). */
ssize_t pack_in_splice(struct pack_in *p, int pipefd, size_t len, size_t *buffered);
/* Up to len bytes of the member skipped, where pack_in_splice could
 * move them and the input is a file that seeks (tar_in_seek): the
 * count, *fd the input and *at where they start in it; 0 when not. */
ssize_t pack_in_seek(struct pack_in *p, size_t len, int *fd, uint64_t *at);
/* For a member of a raw stream read as it is from a file that seeks,
 * opened at its start (a file offset is then a stream offset): the
 * file's fd, its data at p->tar.data_off in it, to pread as it likes
 * (nothing to verify: a raw stream has no checksums); else -1 */
int pack_in_file(const struct pack_in *p);
/* the rest of such a member skipped by seeking: 0, or -1 when the
 * input is no such file (nothing changed) */
int pack_in_skip(struct pack_in *p);
/* copy the input to fd unchanged, from its first byte: for an input
 * opened with record whose manifest alone was read.  0 or -1 */
int pack_in_passthrough(struct pack_in *p, int fd);
void pack_in_close(struct pack_in *p);

#endif
