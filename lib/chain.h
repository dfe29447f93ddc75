/* chain.h - an incremental chain (a full image, then increments, each
 * the child of the one before) merged into one full raw stream, front
 * to back, reading each link once (formats/index.md, "Merging a
 * chain"). */
#ifndef CKPT_CHAIN_H
#define CKPT_CHAIN_H

/* The chain paths[0..n), base first, as a raw stream on out (its
 * members written from offset 0).  Every link's manifest is read and
 * the chain checked before a byte goes out.  0, or -1 after a message
 * naming the link (path and id) and the member. */
int chain_merge(char *const *paths, int n, int out);

/* Only the manifests: every link is an image, and each link's parent
 * is the id of the one before.  0, or -1 after a message. */
int chain_check(char *const *paths, int n);

#endif
