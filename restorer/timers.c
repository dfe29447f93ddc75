/* timers.c - the POSIX timers made again with their own ids
 * (formats/timers.md), once every thread exists (a timer may signal
 * one) and before any runs: they all wait at the trampoline's go, so no
 * program code calls timer_create meanwhile.
 *
 * May not: leave PR_TIMER_CREATE_RESTORE_IDS on (it is the process's:
 * a program's own timer_create would take its id from whatever its
 * output variable held). */
#include <signal.h>

#include "rawsys.h"
#include "restorer.h"

#define PR_TIMER_CREATE_RESTORE_IDS 77   /* Linux 6.15 */
#define RESTORE_IDS_OFF 0
#define RESTORE_IDS_ON 1

struct ksigevent {          /* the kernel's sigevent, 64 bytes */
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;            /* SIGEV_THREAD_ID */
	int32_t pad[11];
};

/* Without the prctl the kernel hands out ids in rising order from 0 in
 * a new process: the timers come in that order, and a gap fails. */
static void timer_make(struct rst *r, const struct plan_timer *p)
{
	struct ksigevent ev = { .value = p->value, .signo = p->signo, .notify = p->notify,
				.tid = p->tid };
	struct ckpt_timespec its[2] = { p->interval, p->value_left };  /* itimerspec */
	int32_t id = p->id;
	long e;

	if ((e = sys_timer_create(p->clock, &ev, &id)) < 0)
		rst_fail(r, PLAN_ST_TIMER, e, p->id);
	if (id != p->id)
		rst_fail(r, PLAN_ST_TIMER_ID, 0, p->id);
	/* the time left at the checkpoint, from now: the time between
	 * does not count, as for the itimers */
	if ((its[1].sec || its[1].nsec) && (e = sys_timer_settime(id, 0, its, 0)) < 0)
		rst_fail(r, PLAN_ST_TIMER, e, p->id);
}

struct ksiginfo_timer {     /* the kernel's siginfo of a timer, 128 bytes */
	int32_t signo, err, code, pad;
	int32_t timerid, overrun;
	uint64_t value;
	int32_t priv, rest[23];
};

/* A timer's signal pending at the checkpoint comes back with the
 * timer's siginfo (SI_TIMER, its id, overrun and value), as a process
 * may queue one to itself: 1 when sig pending at tid (0: the process)
 * was a timer's, else 0 and the caller raises it plainly. */
int timer_signal_raise(struct rst *r, int tid, int sig)
{
	const struct plan_timer *p;
	struct ksiginfo_timer si;
	uint32_t i;
	int to_thread;

	for (i = 0; i < r->hdr.ntimers; i++) {
		p = &r->timers[i];
		to_thread = (p->notify & SIGEV_THREAD_ID) != 0;
		if (p->signo != sig || p->notify == SIGEV_NONE || to_thread != (tid != 0) ||
		    (to_thread && p->tid != tid))
			continue;
		si = (struct ksiginfo_timer){ .signo = sig, .code = SI_TIMER, .timerid = p->id,
					      .overrun = p->overrun, .value = p->value };
		return (tid ? sys_tgsigqueueinfo(r->hdr.pid, tid, sig, &si) :
			      sys_rt_sigqueueinfo(r->hdr.pid, sig, &si)) == 0;
	}
	return 0;
}

void timers_restore(struct rst *r)
{
	uint32_t i;
	long on;

	if (!r->hdr.ntimers)
		return;
	on = sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_ON, 0, 0, 0);
	for (i = 0; i < r->hdr.ntimers; i++)
		timer_make(r, &r->timers[i]);
	if (on == 0)
		sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_OFF, 0, 0, 0);
}
