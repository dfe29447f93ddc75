/* sockjob.h - the unix socket pairs of a job, checked by ckpt-freeze
 * before anything is written (formats/fds.md, "Shared between
 * processes"): a pair can be restored only with both its ends in the
 * job. */
#ifndef CKPT_SOCKJOB_H
#define CKPT_SOCKJOB_H
#include <stdio.h>

#include "coreread.h"

struct job;

/* Every unnamed unix socket pair (socketpair(2)) that a process of the
 * job holds has its other end in the job too (fds 0-2 of the job's
 * first process lead outside, and are attached anew at a restore), and
 * the two ends name each other.  0, or -1 after a message naming both
 * ends: the pid, fd and inode of the one in the job, the inode of the
 * other and, when found, the process outside the job that holds it. */
int job_socks_check(const struct job *j);

/* the most stream or seqpacket connections to a peer outside the job
 * that one checkpoint takes (each comes back reset) */
#define SOCK_OUT_MAX IMAGE_SOCKOUT_MAX
/* after job_socks_check: a manifest line "sockout INO" for each unix
 * socket of the job connected to a peer outside it; 0 or -1 */
int job_socks_out_write(FILE *f);

#endif
