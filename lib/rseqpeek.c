/* rseqpeek.c - an rseq area the program registered itself (rseqpeek.h).
 *
 * The shim can tell that a thread has an area that is not glibc's (a
 * registration of glibc's is refused as another area's), not where it
 * is: no system call names it to the thread.  ptrace does. */
#include <errno.h>
#include <stdint.h>
#include <sys/ptrace.h>

#include "err.h"
#include "rseqpeek.h"
#include "seize.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#define RSEQPEEK_MS 2000

struct rseq_conf {             /* the kernel's ptrace_rseq_configuration */
	uint64_t addr;
	uint32_t len, sig, flags, pad;
};

struct rseq_got {
	pid_t pid;
	struct rseq_conf c;
};

static int conf_stopped(pid_t tid, void *arg)
{
	struct rseq_got *g = arg;
	long n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof g->c, &g->c);

	if (n < 0)
		return warn("pid %d: thread %d: ptrace(GET_RSEQ_CONFIGURATION):", (int)g->pid,
			    (int)tid), -1;
	if (n < (long)(sizeof(uint64_t) + 2 * sizeof(uint32_t)))
		return warn("pid %d: thread %d: ptrace(GET_RSEQ_CONFIGURATION): %ld bytes", (int)g->pid,
			    (int)tid, n), -1;
	return 0;
}

int rseqpeek(pid_t pid, pid_t tid, uint64_t *addr, uint32_t *len, uint32_t *sig)
{
	struct rseq_got g = { .pid = pid };
	int r = seize_peek(pid, tid, RSEQPEEK_MS, conf_stopped, &g);

	if (r == 1)
		return warn("pid %d: thread %d exited while frozen", (int)pid, (int)tid), -1;
	if (r < 0)
		return -1;
	*addr = g.c.addr;
	*len = g.c.len;
	*sig = g.c.sig;
	return 0;
}
