/* cowguess.h - ckpt-freeze --cow without smaps in the frozen window
 * (doc/design.md, "COW mode", "The guess").
 *
 * Which regions a snapshot cannot hold is in smaps' VmFlags (dc, wf),
 * and the kernel walks every page to write smaps (7-13 ms a GiB).  So
 * smaps is read before the freeze, as a guess; while frozen only the
 * maps text is read and must be the guess's layout, line for line, and
 * the locked memory must add up (VmLck); after the thaw the snapshot's
 * own smaps, whose regions carry the flags they had at the fork, must
 * agree with the guess.  A guess that does not fit while frozen is
 * dropped (smaps is read then, as without it); one the snapshot
 * contradicts fails the checkpoint: the held copies were chosen by it. */
#ifndef CKPT_COWGUESS_H
#define CKPT_COWGUESS_H
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "maps.h"

/* ckpt-freeze, before the freeze: /proc/PID/smaps into a memfd
 * (returned, offset 0), and *stat_fd open on /proc/PID/stat, to tie it
 * to the process frozen later (kproc_same).  -1 when it cannot be read
 * (no message: the stage then reads smaps while frozen). */
int cow_guess_take(pid_t pid, int *stat_fd);

/* the guesses of a job: its root's and its descendants' as the
 * children files show them before the freeze (a process that comes
 * later has none), read by two threads */
#define COW_GUESSES_MAX 256
struct cow_guesses {
	unsigned n;
	struct { pid_t pid; int fd, stat_fd; } v[COW_GUESSES_MAX];
};

void cow_guesses_take(struct cow_guesses *g, pid_t root);
/* the guess of the process k stands for, if it is of that process
 * (pid and start time): its fd, or -1 */
struct kproc;
int cow_guess_of(const struct cow_guesses *g, const struct kproc *k);

/* While frozen: 1 when the region heads of the guess are the lines of
 * maps (len bytes), in order, and the regions it says are locked ("lo")
 * add up to status's VmLck; else 0. */
int cow_guess_fits(const char *guess, const char *maps, size_t len, const char *status);

/* After the thaw: the snapshot (pid snap, stat_fd its /proc/self/stat
 * as it opened it, owner the uid that owns the frozen process's /proc
 * directory: the snapshot's must be the same) agrees with the guess on every region of reg: a
 * region the guess says is MADV_DONTFORK is not in it, every other is,
 * with the guess's VmFlags but those a fork clears (lo, lf: mlock; um,
 * uw, ui: userfaultfd).  0, or -1 after a message naming pid and the
 * region. */
int cow_guess_verify(pid_t pid, pid_t snap, int stat_fd, uid_t owner, const char *guess,
		     const struct map_region *reg, size_t nreg);

/* cow_guess_verify in a thread of its own, beside the stream of the
 * pages: the walk of the snapshot's pages for its smaps (10 ms a GiB)
 * then leaves the dump's critical path.  The stage's result waits for
 * it (cow_check_end) before its end: a disagreement still fails the
 * stage, and ckpt-freeze then writes no trailer.  The thread reads a
 * copy of the guess (the stage writes its vmflags member from its own,
 * in place); reg must live until the end. */
struct cow_check {
	pthread_t th;
	int started;
	int r;
	pid_t pid, snap;
	int stat_fd;
	uid_t owner;
	char *guess;                    /* the copy, the thread's */
	const struct map_region *reg;
	size_t nreg;
};

/* started (c's arguments set, guess the caller's): 0, or -1 after a
 * message */
int cow_check_start(struct cow_check *c);
/* joined, when started: its result, 0 or -1 (its message said why) */
int cow_check_end(struct cow_check *c);

#endif
