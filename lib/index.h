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

/* the parent's pages, as ckpt-freeze gives them to each ckpt-dumpmem:
 * a file of records sorted by pid, then address, and after them an
 * end record: pid INDEX_TABLE_END, addr the count of the others,
 * hash 0 (a table its loader did not finish has none) */
#define INDEX_TABLE_END UINT64_MAX
struct index_rec {
	uint64_t pid, addr, hash;
};

struct index_table {
	const struct index_rec *v;   /* mapped */
	size_t n;
};

/* the table in fd mapped: 0, or -errno (-EINVAL: no end record) */
int index_table_map(struct index_table *t, int fd);
void index_table_unmap(struct index_table *t);
/* The records of pid (found by pid: the table is sorted by it), *lo
 * and *n of them, checked in address order, only they: each
 * ckpt-dumpmem of a job reads its own, not every process's.  0, or
 * -EINVAL when they are out of order. */
int index_table_pid(const struct index_table *t, pid_t pid, const struct index_rec **lo,
		    size_t *n);

/* The pages of runs (each run's first hash at hash[at[i]], the
 * others after it) that the parent's records par (npar of pid, by
 * address) do not hold with the same hash: appended to stored, in
 * runs that never cross one of runs, with its held flag.  0 or
 * -ENOMEM */
int index_changed(const struct run_list *runs, const size_t *at, const uint64_t *hash,
		  const struct index_rec *par, size_t npar, struct run_list *stored);

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
