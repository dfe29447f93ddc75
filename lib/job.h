/* job.h - a job: a process and every descendant, frozen as one cut
 * (formats/manifest.md) */
#ifndef CKPT_JOB_H
#define CKPT_JOB_H
#include <sys/types.h>

struct job_proc {
	pid_t pid, ppid, pgid, sid;
	int zombie;        /* exited, not reaped: no shim, no members */
	int status;        /* a zombie's wait status */
	int sock;          /* the connection holding its freeze; -1 for a zombie */
	unsigned long long start;  /* its start time, once it is killed */
};

struct job {
	struct job_proc *v;    /* parents before their children */
	unsigned n, cap;
	long freeze_ms;        /* from the first freeze request to all parked */
};

/* Freeze root, then (unless single) every descendant, top down, each
 * once its parent is frozen (a frozen process forks no more), and scan
 * again until no process is found that is not frozen: a child that
 * exits meanwhile is left out or becomes a zombie line, one caught
 * between fork and its shim's socket, or in an exec, is waited for.
 * Then the ids of each, from the kernel.  0, or -1 after a message
 * naming the process (a descendant without the shim: its pid and
 * executable); then nothing stays frozen. */
int job_freeze(struct job *j, pid_t root, unsigned timeout_ms, int single);
/* the children of pid, from every thread's children file; a malloc'd
 * array of *n pids (a process gone: none) */
pid_t *children_of(pid_t pid, unsigned *n);
/* thaw every process: 0, or -1 after a message */
int job_thaw(struct job *j);
/* kill every process while it is still frozen, children first, then
 * wait (bounded) until every pid of the job is free; 0 or -1 */
int job_kill(struct job *j);
/* close every connection (which thaws what it froze) and free */
void job_release(struct job *j);

#endif
