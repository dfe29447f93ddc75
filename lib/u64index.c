/* u64index.c - a hash table of numbers by 64-bit keys (u64index.h) */
#include <stdlib.h>
#include <string.h>

#include "u64index.h"

static struct u64slot *slot_of(const struct u64index *x, uint64_t key)
{
	/* inodes are near each other: a multiplicative hash spreads them */
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 32) & (x->cap - 1);

	while (x->slot[i].v && x->slot[i].key != key)
		i = (i + 1) & (x->cap - 1);
	return &x->slot[i];
}

static int grow(struct u64index *x)
{
	struct u64index old = *x;
	unsigned i;

	x->cap = old.cap ? 2 * old.cap : 64;
	if (!(x->slot = calloc(x->cap, sizeof *x->slot))) {
		*x = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++)
		if (old.slot[i].v)
			*slot_of(x, old.slot[i].key) = old.slot[i];
	free(old.slot);
	return 0;
}

int u64index_put(struct u64index *x, uint64_t key, unsigned v)
{
	struct u64slot *s;

	if (!key)
		return 0;
	if (2 * (x->n + 1) > x->cap && grow(x) < 0)
		return -1;
	s = slot_of(x, key);
	x->n += !s->v;
	s->key = key;
	s->v = v + 1;
	return 0;
}

int u64index_get(const struct u64index *x, uint64_t key)
{
	const struct u64slot *s;

	if (!x->cap || !key)
		return -1;
	s = slot_of(x, key);
	return s->v ? (int)s->v - 1 : -1;
}

uint64_t u64index_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h | 1;   /* never 0, which is no key */
}

void u64index_free(struct u64index *x)
{
	free(x->slot);
	memset(x, 0, sizeof *x);
}
