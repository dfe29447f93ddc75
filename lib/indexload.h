/* indexload.h - the parent of an increment (ckpt-freeze --parent
 * FILE): its image id, and the table of the pages it holds with their
 * hashes (index.h), from any image (raw, packed, compressed: read
 * packed or compressed through ckpt-unpack) or from an index file (--index-out).  A full
 * image without index members is hashed from its pages. */
#ifndef CKPT_INDEXLOAD_H
#define CKPT_INDEXLOAD_H

struct parent {
	char id[33];
	int table;         /* a memfd of struct index_rec, sorted (index.h) */
	int ready;         /* its end of file: the table is whole or never
	                    * will be (ckpt-dumpmem --parent-wait); or -1,
	                    * when it was whole at once */
	pid_t loader;      /* the child that fills it, or -1 */
};

/* The id now, and the table, from a raw file (index file or raw
 * stream) in a child while the caller goes on: only a table with its
 * end record is whole (a reader waits for the end of p->ready, then
 * finds it or not); from anything else, at once.  0, or -1 after a
 * message naming path (and the member, the line); the child's own
 * errors are messages of its own. */
int parent_load(struct parent *p, const char *path);
/* the child reaped: 0, or -1 when it failed */
int parent_done(struct parent *p);

#endif
