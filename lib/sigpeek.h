/* sigpeek.h - the signals queued to a frozen process, each with its
 * siginfo (formats/core.md and threads.md, `siginfo`) */
#ifndef CKPT_SIGPEEK_H
#define CKPT_SIGPEEK_H
#include <stdio.h>
#include <sys/types.h>

/* The queue of thread tid of pid (shared: the process's queue, read
 * through tid), in the kernel's order, as `siginfo HEX` lines on f;
 * the shim's own freeze signals left out.  Read with ptrace
 * (PTRACE_PEEKSIGINFO: the tracee stopped a moment, lib/seize.c).  0,
 * or -1 after a message naming the thread (not checkpointed). */
int sigpeek_lines(FILE *f, pid_t pid, pid_t tid, int shared);

#endif
