/* pagefeed.h - a process's page data into its restorer's plan pipe:
 * from the stream (spliced when it can be: doc/restore.md), or from a
 * memfd it was held in */
#ifndef CKPT_PAGEFEED_H
#define CKPT_PAGEFEED_H
#include <stdint.h>
#include <sys/types.h>

struct stream;

/* The rest of the current member into fd: 0; -1 when writing fd
 * failed (errno; the rest is left unread); -2 after a message when the
 * stream failed. */
int pages_feed(struct stream *s, int fd);
/* As pages_feed, but once what was read ahead is fed, the rest of a
 * raw stream in a regular file is skipped here and fed by a child of
 * ours, *feeder, that splices it from the file at its own offset, so
 * that ckpt-thaw reads on while this restorer fills its memory (the
 * restorers of a job fill theirs at once).  *feeder is 0 when all was
 * fed here; else it exits 0 once the pages are in the pipe, 1 when
 * the pipe or the file failed.  -2 too when the fork failed. */
int pages_feed_ahead(struct stream *s, int fd, pid_t *feeder);
/* len bytes of the memfd held, from its start, into fd: 0, or -1 when
 * writing fd failed */
int pages_held_feed(int held, int fd, uint64_t len);
/* CKPT_TIMING: the parts of pages_feed's time so far */
void pages_timing(void);

#endif
