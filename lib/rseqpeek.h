/* rseqpeek.h - an rseq area the program registered itself, as the
 * kernel has it (formats/threads.md, `rseq`) */
#ifndef CKPT_RSEQPEEK_H
#define CKPT_RSEQPEEK_H
#include <stdint.h>
#include <sys/types.h>

/* Thread tid of pid (frozen, parked) has an rseq area that is not
 * glibc's (the shim's CKPT_THREAD_RSEQ_OWN): its address, registered
 * length and signature, read with ptrace (PTRACE_GET_RSEQ_CONFIGURATION,
 * Linux 5.13: the tracee stopped a moment, lib/seize.c).  0, or -1
 * after a message naming the thread (not checkpointed). */
int rseqpeek(pid_t pid, pid_t tid, uint64_t *addr, uint32_t *len, uint32_t *sig);

#endif
