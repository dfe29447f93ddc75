/* planstatus.c - the restorer's status records in words (planstatus.h) */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "plan.h"
#include "planstatus.h"

static const char *const step_what[PLAN_ST_COUNT] = {
	[PLAN_ST_OK] = "done", [PLAN_ST_ARGS] = "bad plan", [PLAN_ST_PLAN] = "read the plan",
	[PLAN_ST_PID] = "running as another pid", [PLAN_ST_HOLE] = "map its room at",
	[PLAN_ST_MOVE] = "move itself", [PLAN_ST_CLEAR] = "unmap its old image at",
	[PLAN_ST_MAP] = "map the region at", [PLAN_ST_OPEN] = "open the file of the region at",
	[PLAN_ST_FILE_CHANGED] = "the file changed under the region at",
	[PLAN_ST_PAGES] = "read pages into", [PLAN_ST_SHORT] = "page data ended at",
	[PLAN_ST_PROTECT] = "set the protection of the region at",
	[PLAN_ST_VDSO] = "move the vDSO to", [PLAN_ST_VDSO_LAYOUT] = "the vDSO layout differs at",
	[PLAN_ST_RLIMIT] = "set the rlimit", [PLAN_ST_MM] = "set the mm fields (PR_SET_MM_MAP)",
	[PLAN_ST_EXE_WARN] = "set /proc/PID/exe (it names the restorer)",
	[PLAN_ST_SIGACTION] = "set the action of signal", [PLAN_ST_ITIMER] = "set the itimer",
	[PLAN_ST_FDFLAGS] = "set FD_CLOEXEC on fd", [PLAN_ST_TLS] = "set the thread pointer",
	[PLAN_ST_THREAD] = "start the thread", [PLAN_ST_GO] = "wait for the go",
	[PLAN_ST_IDS] = "set the uids, gids and groups of thread",
	[PLAN_ST_CAPSET] = "set the capabilities of thread",
	[PLAN_ST_SECUREBITS] = "set the securebits of thread",
	[PLAN_ST_NNP] = "set no_new_privs of thread",
	[PLAN_ST_VMFLAGS] = "set the flags (madvise, mlock) of the region at",
	[PLAN_ST_GUARD] = "install guard pages (MADV_GUARD_INSTALL) at",
	[PLAN_ST_SIGQUEUE] = "queue again, with its siginfo, signal",
	[PLAN_ST_RSEQ] = "register the thread's rseq area at",
	[PLAN_ST_TIMER] = "make the POSIX timer",
	[PLAN_ST_TIMER_ID] = "the kernel has no PR_TIMER_CREATE_RESTORE_IDS and gave another id to POSIX timer",
	[PLAN_ST_LAYOUT] = "check its memory layout (/proc/self/maps)",
	[PLAN_ST_RUN] = "wait for the run",
};

/* a region's kind in a layout note (lib/plan.h enum plan_kind) */
static const char *const kind_what[] = {
	[PLAN_ANON] = "anonymous memory", [PLAN_STACK] = "the stack",
	[PLAN_FILE_PRIVATE] = "a private file mapping", [PLAN_FILE_SHARED] = "a shared file mapping",
	[PLAN_SHARED_ANON] = "shared memory", [PLAN_JOB_FD] = "a view of the job's memfd",
	[PLAN_JOB_SYSV] = "a view of the job's SysV segment",
	[PLAN_JOB_FD_PRIVATE] = "a private map of a deleted file",
};

/* "0xSTART-0xEND rw-p" of a layout note's perms, or "nothing" */
static const char *span_text(uint64_t start, uint64_t end, int32_t perms, char *buf, size_t len)
{
	unsigned kind = (unsigned)perms >> 8;

	if (!(perms & 16))
		return "nothing";
	snprintf(buf, len, "%s%s0x%" PRIx64 "-0x%" PRIx64 " %c%c%c%c",
		 kind && kind < sizeof kind_what / sizeof *kind_what && kind_what[kind] ?
		 kind_what[kind] : "", kind ? " " : "", start, end,
		 perms & 1 ? 'r' : '-', perms & 2 ? 'w' : '-', perms & 4 ? 'x' : '-',
		 perms & 8 ? 's' : 'p');
	return buf;
}

/* The restorer found its mappings other than the plan's at addr:
 * what the image has there and what the kernel has. */
static void layout_say(const struct restorer *r, uint64_t addr)
{
	const struct plan_status *l = r->layout;
	char a[160], b[160];

	warn("pid %d: restorer: its memory layout is not the image's at 0x%" PRIx64
	     ": the image has %s there, the kernel %s; the process does not run",
	     r->pid, addr, span_text(l[0].addr, l[1].addr, l[0].err, a, sizeof a),
	     span_text(l[2].addr, l[3].addr, l[2].err, b, sizeof b));
}

/* how a step's addr field reads: a number, an address, or nothing */
static const char *addr_text(int step, uint64_t addr, char *buf, size_t len)
{
	switch (step) {
	case PLAN_ST_RLIMIT: case PLAN_ST_SIGACTION: case PLAN_ST_ITIMER:
	case PLAN_ST_FDFLAGS: case PLAN_ST_THREAD: case PLAN_ST_PID:
	case PLAN_ST_IDS: case PLAN_ST_CAPSET: case PLAN_ST_SECUREBITS: case PLAN_ST_NNP:
	case PLAN_ST_TIMER: case PLAN_ST_TIMER_ID: case PLAN_ST_SIGQUEUE:
		snprintf(buf, len, " %" PRIu64, addr);
		break;
	case PLAN_ST_ARGS: case PLAN_ST_PLAN: case PLAN_ST_MOVE: case PLAN_ST_MM:
	case PLAN_ST_EXE_WARN: case PLAN_ST_GO: case PLAN_ST_RUN:
		buf[0] = 0;
		break;
	default:
		snprintf(buf, len, " 0x%" PRIx64, addr);
	}
	return buf;
}

unsigned long long oom_kills(void)
{
	unsigned long long n = 0;
	char line[128];
	FILE *f = fopen("/proc/vmstat", "re");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %llu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* The restorer ended without a word: say how, from its status (the
 * reaper passes a signal on as 128+N).  A SIGKILL while the kernel's
 * count of OOM kills went up was the OOM killer, most likely. */
static void restorer_gone(struct restorer *r)
{
	int st, sig = 0;

	if (r->child <= 0 || waitpid(r->child, &st, 0) != r->child) {
		warn("pid %d: the restorer died before it was done", r->pid);
		return;
	}
	r->child = 0;
	if (WIFSIGNALED(st))
		sig = WTERMSIG(st);
	else if (r->newns && WEXITSTATUS(st) > 128)
		sig = WEXITSTATUS(st) - 128;
	if (!sig)
		warn("pid %d: the restorer exited with status %d before it was done",
		     r->pid, WEXITSTATUS(st));
	else if (sig == SIGKILL && oom_kills() > r->oom_kills)
		warn("pid %d: the restorer was killed by SIGKILL: out of memory (the kernel's OOM killer)",
		     r->pid);
	else
		warn("pid %d: the restorer was killed by signal %d (SIG%s)", r->pid, sig,
		     sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

/* one record that is not OK, in words */
static void status_say(const struct restorer *r, const struct plan_status *st)
{
	const char *what = st->step > 0 && st->step < PLAN_ST_COUNT && step_what[st->step] ?
			   step_what[st->step] : "step";
	char at[32];

	addr_text(st->step, st->addr, at, sizeof at);
	errno = -st->err;
	if (st->step == PLAN_ST_LAYOUT && !st->err)
		layout_say(r, st->addr);
	else if (st->step == PLAN_ST_THREAD && st->err == -EEXIST)
		warn("pid %d: restorer: thread %s: its id was taken meanwhile by another process",
		     r->pid, at + 1);
	else if (st->err)
		warn("pid %d: restorer: %s%s:", r->pid, what, at);
	else
		warn("pid %d: restorer: %s%s", r->pid, what, at);
}

int restorer_go(struct restorer *r)
{
	const uint64_t g = PLAN_GO;

	if (r->plan_w < 0)
		return -1;
	if (write_all(r->plan_w, &g, sizeof g) < 0) {
		close(r->plan_w);
		r->plan_w = -1;
		return -1;
	}
	return 0;
}

int restorer_run(struct restorer *r)
{
	const uint64_t run = PLAN_RUN;
	int e;

	if (r->plan_w < 0)
		return -1;
	e = write_all(r->plan_w, &run, sizeof run);
	close(r->plan_w);
	r->plan_w = -1;
	return e < 0 ? -1 : 0;
}

/* the records up to want (PLAN_ST_READY or PLAN_ST_OK): 0, or -1
 * after a message */
static int status_until(struct restorer *r, int want)
{
	struct plan_status st;

	while (read_all(r->status_r, &st, sizeof st) == sizeof st) {
		if (st.step == want)
			return 0;
		if (st.step >= PLAN_ST_LAYOUT_WANT && st.step <= PLAN_ST_LAYOUT_SAW_END) {
			r->layout[st.step - PLAN_ST_LAYOUT_WANT] = st;
			continue;
		}
		status_say(r, &st);
		if (st.step != PLAN_ST_EXE_WARN && st.step != PLAN_ST_RLIMIT)
			return -1;
	}
	restorer_gone(r);
	return -1;
}

int restorer_ready(struct restorer *r)
{
	return status_until(r, PLAN_ST_READY);
}

int restorer_status(struct restorer *r)
{
	return status_until(r, PLAN_ST_OK);
}
