/* index.h - the index and hashes members (formats/index.md): which
 * pages an image holds, and a hash of each, so that the next increment
 * is written from the index alone (ckpt-freeze --parent), and the table
 * of a parent's pages that ckpt-freeze hands each ckpt-dumpmem. */
#ifndef CKPT_INDEX_H
#define CKPT_INDEX_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pagescan.h"

#define INDEX_PAGE 4096ULL

/* the hash of one page: XXH64, seed 0 */
uint64_t index_hash(const void *page);

/* The hash of every page of runs, in order, into h (runs->bytes / 4096
 * of them), read while process pid is frozen: with process_vm_readv
 * where the kernel lets us (same user, dumpable: 1.5-2x faster than
 * the mem fd, kernel notes row 1c), else through its mem fd; a page
 * that reads EIO (an orphan's past its file's end) is zeros, as its
 * data in the pages member.  0, or -errno (*bad: where). */
int index_hash_runs(pid_t pid, int mem_fd, const struct run_list *runs, uint64_t *h,
		    uint64_t *bad);

/* runs as text, "START-END" a line (the pagemap and index members) */
void runs_text(FILE *f, const struct run_list *runs);

/* The parent's pages, as ckpt-freeze gives them to each ckpt-dumpmem:
 * a file of 8-byte words (host order), per process its runs (start,
 * end: two words each) and their pages' hashes (a word a page), then a
 * directory of one index_proc per process, sorted by pid, then an end
 * record: pid INDEX_TABLE_END, the directory's offset in run_at, its
 * count in nrun, 0 in the rest (a table its loader did not finish has
 * none).  24 bytes a page (pid, address, hash) before: 6 MiB a GiB to
 * write, map and walk, 2.5 ms of an increment of 1 GiB; 8 now, copied
 * a run at a time. */
#define INDEX_TABLE_END UINT64_MAX
struct index_proc {
	uint64_t pid;
	uint64_t run_at, nrun;     /* offset (bytes) and count of its runs */
	uint64_t hash_at, npage;   /* offset (bytes) of its hashes, count */
};

struct index_table {
	const void *v;             /* mapped */
	size_t len;
	const struct index_proc *dir;
	size_t n;
};

/* one process's pages in the table: runs in address order, apart,
 * whole pages; a hash per page of them, in order */
struct index_par {
	const uint64_t (*run)[2];
	size_t nrun;
	const uint64_t *hash;
	size_t npage;
};

/* the table in fd mapped: 0, or -errno (-EINVAL: no end record, or a
 * directory out of the file) */
int index_table_map(struct index_table *t, int fd);
void index_table_unmap(struct index_table *t);
/* The pages of pid (none when the table has no such process), checked
 * (runs in order inside the file, as many hashes as pages): each
 * ckpt-dumpmem of a job reads its own, not every process's.  0, or
 * -EINVAL when they are out of order or out of the file. */
int index_table_pid(const struct index_table *t, pid_t pid, struct index_par *p);

/* A walk over a parent's pages in ascending address order.
 * index_par_at: 1 when the parent holds the page at a (*end: the end
 * of its run, *h: the page's hash, those of the pages after it in the
 * run following), 0 when not (*end: where its next run starts, or
 * UINT64_MAX).  a never below the last one asked. */
struct index_cursor {
	const struct index_par *p;
	size_t r;                  /* the first run not ending at or before a */
	size_t h;                  /* the index of that run's first hash */
};
void index_cursor_init(struct index_cursor *c, const struct index_par *p);
int index_par_at(struct index_cursor *c, uint64_t a, uint64_t *end, const uint64_t **h);

/* The pages of runs (each run's first hash at hash[at[i]], the
 * others after it) that the parent par does not hold with the same
 * hash: appended to stored, in runs that never cross one of runs,
 * with its held flag.  0 or -ENOMEM */
int index_changed(const struct run_list *runs, const size_t *at, const uint64_t *hash,
		  const struct index_par *par, struct run_list *stored);

/* A member read line by line through rd (pack_in_read, tar_in_read):
 * lines of at most 255 bytes, so that memory stays bounded whatever
 * the member's size. */
struct lines {
	ssize_t (*rd)(void *ctx, void *buf, size_t len);
	void *ctx;
	char buf[65536];
	size_t pos, len;
	int eof;
	unsigned no;             /* the line's number, from 1 */
	char line[256];          /* the line, NUL-terminated, no newline */
	size_t linelen;
};

void lines_init(struct lines *l, ssize_t (*rd)(void *, void *, size_t), void *ctx);
/* 1: a line; 0: the end; -1: rd failed; -2: a line too long or not
 * ended by a newline */
int lines_next(struct lines *l);

/* A pagemap or index member's runs (formats/memory.md) read through ln: 0; -3
 * when line ln->no is not a run of whole pages after the last; or
 * lines_next's -1 or -2.  Out of memory is fatal. */
int lines_runs(struct lines *ln, struct run_list *runs);

#endif
