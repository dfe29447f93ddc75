/* packout.h - writing a packed image on several threads: the caller
 * fills part buffers in stream order, workers hash and compress them,
 * one writer thread puts them out in the same order.  Memory stays at
 * (workers + 3) slots of two part buffers each, whatever the input. */
#ifndef CKPT_PACKOUT_H
#define CKPT_PACKOUT_H
#include <stddef.h>
#include <stdint.h>

#include "pack.h"

struct pack_out;

/* NULL when out of memory */
struct pack_out *pack_out_new(int fd, int level, int workers);
/* a buffer of PACK_PART bytes for the next part, once a slot is free;
 * NULL after a failure (pack_out_error says why) */
unsigned char *pack_out_buf(struct pack_out *o);
/* queue that buffer, holding len bytes of member m from offset off:
 * an lz4 part when lz4 is set, else the whole member, kept plain.
 * 0 or -1 */
int pack_out_put(struct pack_out *o, const struct pack_member *m, int lz4,
		 uint64_t off, size_t len);
/* wait for every slot, write the trailer, stop the threads: 0 or -1 */
int pack_out_finish(struct pack_out *o);
const char *pack_out_error(struct pack_out *o);
void pack_out_free(struct pack_out *o);

#endif
