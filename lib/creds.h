/* creds.h - the credentials a restore gives back, and what root's
 * ckpt-thaw trusts an image to claim (doc/design.md, "Trust"). */
#ifndef CKPT_CREDS_H
#define CKPT_CREDS_H
#include <stdint.h>

#include "coreread.h"
#include "plan.h"

/* Root only, and only when not trusted (--trust-image): an image read
 * from a regular file (fd; what names it) may claim no more than the
 * file's owner has: its uid, its groups, no capabilities, no
 * oom_score_adj below ours, no loginuid but ours once set; a file
 * anyone may write claims nothing.  A stream from a pipe is the
 * caller's own word.  0, or -1 after a message naming the thread and
 * the claim. */
int creds_trust(const struct img_core *c, const struct img_thread *t, unsigned n,
		int fd, const char *what);

/* This ckpt-thaw can give every thread its capabilities: root holds
 * them, or there are none (userns: a restore in our own user
 * namespace gives none back).  0, or -1 after a message. */
int creds_can(const struct img_core *c, const struct img_thread *t, unsigned n, int userns);

/* The capabilities the restorer must hold to set every thread's
 * credentials and clone3 with set_tid: lent to it across exec */
uint64_t creds_lend(const struct img_thread *t, unsigned n, int userns);

/* t's plan_creds; its groups appended to *groups (*ngroups of them,
 * realloc'd).  0, or -1 out of memory */
int creds_plan(const struct img_thread *t, struct plan_creds *pc, uint32_t **groups,
	       unsigned *ngroups);

#endif
