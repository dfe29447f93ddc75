/* u64index.h - numbers by a 64-bit key (a socket's inode) in a hash
 * table, for lookups that ran through whole arrays once per line */
#ifndef CKPT_U64INDEX_H
#define CKPT_U64INDEX_H
#include <stdint.h>

struct u64index {
	struct u64slot { uint64_t key; unsigned v; } *slot;   /* v + 1, 0: empty */
	unsigned cap, n;
};

/* v held under key (0 is no key: not held), in place of one held
 * there before: 0, or -1 (out of memory) */
int u64index_put(struct u64index *x, uint64_t key, unsigned v);
/* the value held under key, or -1 */
int u64index_get(const struct u64index *x, uint64_t key);
void u64index_free(struct u64index *x);
/* a key for a name (FNV-1a): two names may share one, so a caller
 * compares the name it finds, and looks further when it differs */
uint64_t u64index_hash(const char *s);

#endif
