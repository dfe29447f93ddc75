/* pidused.h - whether a pid can be had in this pid namespace, and if
 * not, whether it will be free soon.  A pid is in use while a task has
 * it as its pid or thread id, and also while a process (a zombie too)
 * has it as its process group or session id: clone3 set_tid then
 * fails with EEXIST although kill(pid, 0) says ESRCH. */
#ifndef CKPT_PIDUSED_H
#define CKPT_PIDUSED_H
#include <sys/types.h>

enum pid_use {
	PID_FREE = 0,
	PID_DYING,       /* held by zombies or exiting processes only */
	PID_LIVE,        /* held by a process that is not going away */
};

/* the worst use of any of the n ids (PID_LIVE before PID_DYING); *which
 * gets an id so used, and *holder the process that holds it */
enum pid_use pids_used(const pid_t *ids, unsigned n, pid_t *which, pid_t *holder);

/* the first of the n ids in use, or 0 (*holder: who holds it): a holder
 * that is going away (a zombie, an exiting process) is waited for, up
 * to wait_ms; a live one is not, it will not free the id */
pid_t pids_wait_free(const pid_t *ids, unsigned n, pid_t *holder, unsigned wait_ms);

/* The groups and sessions of every process, as one pass over /proc
 * saw them: a restore checks each process's thread ids against it,
 * rather than reading every process of the system again for each
 * process of a job (2.5 ms a process, here). */
struct pid_groups {
	pid_t *v;          /* sorted */
	unsigned n;
	int read;          /* the pass was made (on the first check) */
};

/* pids_wait_free, but an id that no task has and no group or session
 * of g names is free at once, without a pass over /proc.  What g
 * missed, a group made since whose leader is gone, only fails the
 * clone3 of that id later (EEXIST), as any id taken meanwhile does. */
pid_t pids_wait_free_in(struct pid_groups *g, const pid_t *ids, unsigned n, pid_t *holder,
			unsigned wait_ms);
void pid_groups_free(struct pid_groups *g);

/* field 22 of /proc/PID/stat (clock ticks after boot), 0 if none: with
 * the pid, which process this is on this boot */
unsigned long long pid_starttime(pid_t pid);

#endif
