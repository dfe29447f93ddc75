/* xxh64.h - the XXH64 hash (Yann Collet's xxHash, 64-bit variant):
 * the checksum of packed members (formats/packing.md) */
#ifndef CKPT_XXH64_H
#define CKPT_XXH64_H
#include <stddef.h>
#include <stdint.h>

uint64_t xxh64(const void *buf, size_t len, uint64_t seed);

#endif
