/* planstatus.h - one process's restorer seen from ckpt-thaw: its
 * status records (lib/plan.h) in words, and how it ended when it ended
 * without one */
#ifndef CKPT_PLANSTATUS_H
#define CKPT_PLANSTATUS_H
#include <sys/types.h>

#include "plan.h"

struct restorer {
	pid_t pid;                 /* the restored pid, for messages */
	pid_t child;               /* our child: the process, or its reaper */
	int newns;                 /* the child is a reaper: it passes a
	                            * signal on as exit status 128+N */
	int plan_w, status_r;
	unsigned long long oom_kills; /* the kernel's count when spawned */
	struct plan_status layout[4]; /* the notes of a layout that differs:
	                               * PLAN_ST_LAYOUT_WANT, _WANT_END, _SAW,
	                               * _SAW_END */
};

/* the kernel's count of OOM kills so far (/proc/vmstat), or 0 */
unsigned long long oom_kills(void);
/* PLAN_GO written: 0, or -1 (the restorer is gone: restorer_status
 * says how) */
int restorer_go(struct restorer *r);
/* The restorer's reports up to its PLAN_ST_READY: 0, else -1 after a
 * message (an error it sent, or how it died: it is reaped then,
 * r->child 0). */
int restorer_ready(struct restorer *r);
/* PLAN_RUN written, once every process of the job is ready; the plan
 * pipe closed: 0, or -1 (gone: restorer_status says how) */
int restorer_run(struct restorer *r);
/* The restorer's reports up to its OK: 0, else -1 after a message. */
int restorer_status(struct restorer *r);

#endif
