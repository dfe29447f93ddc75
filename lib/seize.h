/* seize.h - adopting a thread that blocks the freeze signal (seize.c) */
#ifndef CKPT_SEIZE_H
#define CKPT_SEIZE_H
#include <sys/types.h>

/* Thread tid of pid, frozen on sock except that it blocks the freeze
 * signal sig: seize it, stop it (within ms), open sig in its mask and
 * let it go, then wait until it has parked.  0; 1 when it exited
 * meanwhile (nothing of it to keep); -1 after a message naming it.
 * The thread is never left stopped nor its mask changed, but for a
 * thread that did not stop within ms: this process's exit detaches it. */
int seize_adopt(int sock, pid_t pid, pid_t tid, unsigned sig, unsigned ms);

/* Thread tid of pid, frozen (parked: it takes no signal), seized and
 * stopped for a moment (within ms) to run fn(tid, arg) on it (ptrace
 * requests that need a stopped tracee: PTRACE_PEEKSIGINFO), then let
 * go.  fn's result (0, or -1 after its message); 1 when the thread
 * exited meanwhile; -1 after a message naming it.  The thread resumes
 * its wait (the futex of its park is restarted). */
int seize_peek(pid_t pid, pid_t tid, unsigned ms, int (*fn)(pid_t, void *), void *arg);

#endif
