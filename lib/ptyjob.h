/* ptyjob.h - which sessions of a job have one of the job's own
 * pseudo-terminals as their controlling terminal (formats/manifest.md,
 * `ctty`): a restore must give it to the session leader before the
 * leader makes the rest of its session, which inherits it */
#ifndef CKPT_PTYJOB_H
#define CKPT_PTYJOB_H
#include <stdio.h>

#include "job.h"

/* A "ctty SID N" line for each session leader of j whose controlling
 * terminal is the slave of pty N, whose master an fd of a process of j
 * holds (as /proc shows them now: every process is frozen).  0, or
 * -1 (the stream failed). */
int ptyjob_ctty_write(FILE *f, const struct job *j);

/* What a restore cannot make, refused before anything is written: the
 * slave of a job's pty held by a process earlier in the stream than
 * every holder of its master.  0, or -1 after a message naming both. */
int ptyjob_check(const struct job *j);

#endif
