/* timers.h - POSIX timers (timer_create) in the image: the member
 * proc/PID/timers (formats/timers.md).  Shared: ckpt-freeze writes it,
 * ckpt-thaw reads it into the plan the restorer makes them from. */
#ifndef CKPT_TIMERS_H
#define CKPT_TIMERS_H
#include <sys/types.h>

#include "coreread.h"
#include "plan.h"
#include "tar.h"

/* The POSIX timers of pid, frozen behind sock, as the member
 * proc/PID/timers on t: each timer's id, clock and notification as the
 * kernel lists them in /proc/PID/timers, its times as the process
 * itself reads them (CKPT_OP_TIMERS).  No member when it has none.
 * 0, or -1 after a message naming the timer that cannot be restored. */
int timers_dump(struct tar_out *t, int sock, pid_t pid);

/* The member's text (NUL-terminated, written into) as plan records,
 * every target thread one of thr[0..nthr): 0, or -1 after a message
 * "member NAME line N: ...". */
int timers_parse(char *text, const char *name, const struct img_thread *thr, unsigned nthr,
		 struct plan_timer **v, unsigned *n);

#endif
