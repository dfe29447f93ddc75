/* seize.c - threads that block the freeze signal, brought to their park
 * with ptrace (doc/design.md, "Threads that block the freeze signal").
 *
 * Each such thread is seized and stopped for a moment only: its mask
 * read, the freeze signal it already has pending opened in its mask,
 * and it is let go at once; it parks in the shim's handler like every
 * other thread, and its frame gets its own mask back there.  Nothing of
 * the program is ever written but that one mask: if this process dies
 * at any point the kernel detaches the thread, which either still
 * blocks the signal (nothing changed) or takes it, and the shim gives
 * its mask back in the frame. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "freeze.h"
#include "seize.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* "KEY:\tvalue" of thread tid's status, into out (empty when none) */
static void task_field(pid_t pid, pid_t tid, const char *key, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (status_field(path, key, out, len) < 0)
		*out = 0;
}

/* why we seize a thread ("blocks the freeze signal") and what a
 * failure means ("nothing stays frozen"), for the messages */
struct seize_why {
	const char *what, *then;
};
static const struct seize_why adopting = { "blocks the freeze signal", "nothing stays frozen" };
static const struct seize_why peeking = { "has signals queued", "not checkpointed" };

/* why the seize failed, in the kernel's words */
static void seize_refused(pid_t pid, pid_t tid, int err, const struct seize_why *w)
{
	char tracer[16];

	task_field(pid, tid, "TracerPid", tracer, sizeof tracer);
	if (err == EPERM && tracer[0] && strcmp(tracer, "0"))
		warn("pid %d: thread %d %s and cannot be seized: it is traced by pid %s already; %s",
		     (int)pid, (int)tid, w->what, tracer, w->then);
	else
		warnerr(-err, "pid %d: thread %d %s and cannot be seized (ptrace); %s:", (int)pid,
			(int)tid, w->what, w->then);
}

/* Until thread tid is in a ptrace stop of our PTRACE_INTERRUPT: 0; 1
 * when it has exited; -1 after a message.  A signal it was about to
 * take is passed on to it, unchanged (then it stops at its handler). */
static int stop_wait(pid_t pid, pid_t tid, unsigned ms, const struct seize_why *w)
{
	long end = now_ms() + ms;
	struct timespec tick = { 0, 500000 };
	char state[64];
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r < 0)
			return warn("pid %d: thread %d: waitpid:", (int)pid, (int)tid), -1;
		if (r == tid && (WIFEXITED(st) || WIFSIGNALED(st)))
			return 1;
		if (r == tid && WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_STOP)
			return 0;
		if (r == tid && WIFSTOPPED(st)) {
			if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(st)) < 0)
				return warn("pid %d: thread %d: ptrace(CONT):", (int)pid, (int)tid), -1;
			continue;
		}
		if (now_ms() > end) {
			task_field(pid, tid, "State", state, sizeof state);
			warn("pid %d: thread %d %s and did not stop for ptrace in %u ms (State %s); %s",
			     (int)pid, (int)tid, w->what, ms, state[0] ? state : "gone", w->then);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
}

/* the shim's part: 0 when the thread's mask is to be opened, 1 when it
 * parks by itself, -1 after a message */
static int adopt_ask(int sock, pid_t pid, pid_t tid, uint64_t mask)
{
	struct ctl_call c = { .op = CKPT_OP_ADOPT, .arg = (uint32_t)tid, .payload = &mask,
			      .len = sizeof mask };
	int r = ctl_call(sock, &c);

	if (r == -EALREADY || r == -EINPROGRESS)
		return 1;
	if (r < 0)
		return warnerr(r, "pid %d: thread %d: adopt:", (int)pid, (int)tid), -1;
	return 0;
}

/* seized and stopped: its mask, the shim told, the signal opened; 0 or
 * -1 after a message.  The caller detaches. */
static int adopt_stopped(int sock, pid_t pid, pid_t tid, unsigned sig)
{
	uint64_t mask, open;
	int r;

	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof mask, &mask) < 0)
		return warn("pid %d: thread %d: ptrace(GETSIGMASK):", (int)pid, (int)tid), -1;
	if ((r = adopt_ask(sock, pid, tid, mask)) != 0)
		return r < 0 ? -1 : 0;
	open = mask & ~(1ULL << (sig - 1));
	if (ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof open, &open) < 0)
		return warn("pid %d: thread %d: ptrace(SETSIGMASK):", (int)pid, (int)tid), -1;
	return 0;
}

/* The tid came from the shim, the program's own code: it must be a
 * thread of pid in the kernel's view, before the seize (nothing else
 * is touched) and again once it is stopped (a tid cannot be reused
 * while we trace it).  0; 1 when there is no such task any more (it
 * exited); -1 after a message when it is another process's. */
static int thread_of(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)tid);
	if (tid > 0 && access(path, F_OK) == 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d", (int)tid);
	if (tid > 0 && access(path, F_OK) < 0)
		return 1;
	warn("pid %d: its shim named thread %d, which is not a thread of pid %d: not touched; nothing stays frozen",
	     (int)pid, (int)tid, (int)pid);
	return -1;
}

/* thread tid of pid seized and stopped: 0 (the caller detaches); 1
 * when it exited meanwhile; -1 after a message (detached, unless it
 * did not stop: our exit detaches it) */
static int seize_stop(pid_t pid, pid_t tid, unsigned ms, const struct seize_why *w)
{
	int r;

	if ((r = thread_of(pid, tid)) != 0)
		return r;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
		if (errno == ESRCH)
			return 1;  /* it exited: nothing of it to keep */
		seize_refused(pid, tid, errno, w);
		return -1;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
		r = errno == ESRCH ? 1 : (warn("pid %d: thread %d: ptrace(INTERRUPT):", (int)pid, (int)tid), -1);
	else
		r = stop_wait(pid, tid, ms, w);
	if (r == 0 && thread_of(pid, tid) != 0)
		r = -1;
	if (r == -1)
		ptrace(PTRACE_DETACH, tid, 0, 0);
	return r;
}

/* detached; 0, or -1 after a message when r was 0 */
static int seize_release(pid_t pid, pid_t tid, int r)
{
	if (ptrace(PTRACE_DETACH, tid, 0, 0) < 0 && errno != ESRCH && r == 0)
		return warn("pid %d: thread %d: ptrace(DETACH):", (int)pid, (int)tid), -1;
	return r;
}

int seize_adopt(int sock, pid_t pid, pid_t tid, unsigned sig, unsigned ms)
{
	int r = seize_stop(pid, tid, ms, &adopting);

	if (r != 0)
		return r;
	r = seize_release(pid, tid, adopt_stopped(sock, pid, tid, sig));
	if (r != 0)
		return r;
	if ((r = ctl_simple(sock, CKPT_OP_ADOPTED, (uint32_t)tid, NULL)) < 0)
		return warnerr(r, "pid %d: thread %d blocked the freeze signal and did not park once it was opened:",
			       (int)pid, (int)tid), -1;
	return 0;
}

int seize_peek(pid_t pid, pid_t tid, unsigned ms, int (*fn)(pid_t, void *), void *arg)
{
	int r = seize_stop(pid, tid, ms, &peeking);

	return r != 0 ? r : seize_release(pid, tid, fn(tid, arg));
}
