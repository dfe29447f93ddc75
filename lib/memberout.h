/* memberout.h - the writer side's one way to put a member in the raw
 * stream: a text member is built with stdio in memory (its text may be
 * checked before it goes out), then written as one tar member; every
 * write failure is said the same way, "stdout: MEMBER: why". */
#ifndef CKPT_MEMBEROUT_H
#define CKPT_MEMBEROUT_H
#include <stddef.h>
#include <stdio.h>

#include "tar.h"

struct member {
	char name[96];      /* "proc/PID/core" */
	FILE *f;            /* the text is written here, until member_text */
	char *text;
	size_t len;
};

/* Start a text member named by fmt; returns m->f.  Out of memory is
 * fatal: a checkpoint that cannot get a few KiB fails whole. */
FILE *member_open(struct member *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The text so far, NUL-terminated; *len its length.  Ends m->f. */
char *member_text(struct member *m, size_t *len);
/* Write the text as one member and free it: 0, or -1 after a message */
int member_close(struct member *m, struct tar_out *t);
/* Free the text unwritten (the member was refused) */
void member_drop(struct member *m);

/* The member name, with its text made by fn(f, arg) (0, or -1 after a
 * message: then nothing is written): 0, or -1 after a message */
int member_from(struct tar_out *t, const char *name,
		int (*fn)(FILE *, const void *), const void *arg);
/* A member whose bytes are in a buffer already: 0, or -1 after a message */
int member_put(struct tar_out *t, const char *name, const void *buf, size_t len);
/* End the stream (its trailer) and wait until the reader took every
 * byte (freeze.h, drain_wait): 0, or -1 after a message */
int stream_out_end(struct tar_out *t);

#endif
