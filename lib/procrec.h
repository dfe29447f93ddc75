/* procrec.h - a frozen process's record and its /proc files
 * (CKPT_OP_PROC), for ckpt-freeze and ckpt-dumpmem */
#ifndef CKPT_PROCREC_H
#define CKPT_PROCREC_H
#include "kproc.h"
#include "proto.h"

/* The shim's record of k's process, frozen behind sock, and the fds of
 * enum ckpt_procfd.  A process that is not dumpable may not open its
 * own mem and pagemap: the shim sends its record without them, and we
 * open the six files under /proc/PID ourselves, which the kernel allows
 * only a caller that may ptrace it (root: CAP_SYS_PTRACE).  The
 * record's dumpable is the kernel's, not the shim's word (procrec.c).
 * 0, or -1 after a message naming the pid (fds then closed). */
int procrec_fetch(int sock, const struct kproc *k, struct ckpt_proc_rec *rec,
		  int fds[CKPT_PROCFD_COUNT]);

#endif
