/* indexload.h - the parent of an increment (ckpt-freeze --parent
 * FILE): its image id, and the table of the pages it holds with their
 * hashes (index.h), from any image (raw, packed, compressed: read
 * packed or compressed through ckpt-unpack) or from an index file (--index-out).  A full
 * image without index members is hashed from its pages. */
#ifndef CKPT_INDEXLOAD_H
#define CKPT_INDEXLOAD_H

struct parent {
	char id[33];
	int table;         /* a memfd of struct index_rec, sorted */
};

/* 0, or -1 after a message naming path (and the member, the line) */
int parent_load(struct parent *p, const char *path);

#endif
