/* pagefeed.h - a process's page data into its restorer's plan pipe:
 * from the stream (spliced when it can be: doc/restore.md), or from a
 * memfd it was held in */
#ifndef CKPT_PAGEFEED_H
#define CKPT_PAGEFEED_H
#include <stdint.h>

struct stream;

/* The rest of the current member into fd: 0; -1 when writing fd
 * failed (errno; the rest is left unread); -2 after a message when the
 * stream failed. */
int pages_feed(struct stream *s, int fd);
/* len bytes of the memfd held, from its start, into fd: 0, or -1 when
 * writing fd failed */
int pages_held_feed(int held, int fd, uint64_t len);
/* CKPT_TIMING: the parts of pages_feed's time so far */
void pages_timing(void);

#endif
