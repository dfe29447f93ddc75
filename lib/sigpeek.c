/* sigpeek.c - the signals queued to a frozen process (sigpeek.h).
 *
 * /proc/PID/status shows which signals are pending (SigPnd, ShdPnd);
 * only ptrace shows each queued one with its siginfo (sigqueue's value,
 * kill's sender) and how many of a real-time signal are queued: a
 * restore queues each again as it was (restorer/threads.c). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>

#include "err.h"
#include "proto.h"
#include "seize.h"
#include "sigpeek.h"

#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#ifndef PTRACE_PEEKSIGINFO_SHARED
#define PTRACE_PEEKSIGINFO_SHARED 1
#endif

#define SIGINFO_SIZE 128
#define PEEK_BATCH 64
#define SIGPEEK_MS 2000

struct peek_args {             /* the kernel's ptrace_peeksiginfo_args */
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

struct peek {
	FILE *f;
	pid_t pid;
	int shared;
};

/* our freeze: SI_QUEUE from the process itself with the magic value
 * (lib/proto.h), whatever the signal (CKPT_SIGNAL) */
static int is_freeze(const unsigned char *si, pid_t pid)
{
	int32_t code, from;
	uint32_t value;

	memcpy(&code, si + 8, 4);
	memcpy(&from, si + 16, 4);
	memcpy(&value, si + 24, 4);
	return code == -1 /* SI_QUEUE */ && from == pid && value == CKPT_FREEZE_MAGIC;
}

static void line_put(FILE *f, const unsigned char *si)
{
	int i;

	fputs("siginfo ", f);
	for (i = 0; i < SIGINFO_SIZE; i++)
		fprintf(f, "%02x", si[i]);
	fputc('\n', f);
}

static int peek_stopped(pid_t tid, void *arg)
{
	static unsigned char buf[PEEK_BATCH][SIGINFO_SIZE];
	struct peek *p = arg;
	struct peek_args a = { 0, p->shared ? PTRACE_PEEKSIGINFO_SHARED : 0, PEEK_BATCH };
	long n, i;

	for (;;) {
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf);
		if (n < 0)
			return warn("pid %d: thread %d: ptrace(PEEKSIGINFO):", (int)p->pid, (int)tid), -1;
		for (i = 0; i < n; i++)
			if (!is_freeze(buf[i], p->pid))
				line_put(p->f, buf[i]);
		if (n < PEEK_BATCH)
			return 0;
		a.off += n;
	}
}

int sigpeek_lines(FILE *f, pid_t pid, pid_t tid, int shared)
{
	struct peek p = { f, pid, shared };
	int r = seize_peek(pid, tid, SIGPEEK_MS, peek_stopped, &p);

	if (r == 1)
		return warn("pid %d: thread %d exited while frozen", (int)pid, (int)tid), -1;
	return r;
}
