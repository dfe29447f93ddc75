/* spawn.h - making the processes to restore: the first with its old
 * pid, in this pid namespace or a new one (spawn_start: the others are
 * made by it, spawntree.c), then each its credentials, cwd and fds and
 * the restorer exec'd in it with the plan and status pipes. */
#ifndef CKPT_SPAWN_H
#define CKPT_SPAWN_H
#include <stdint.h>
#include <sys/types.h>

struct img_core;
struct fdplan;

struct spawn {
	const struct img_core *core;
	struct fdplan *fds;        /* opened in ckpt-thaw (fdplan_open); the
	                            * sources are closed here once moved */
	const char *restorer;
	int newns;                 /* a new pid+mount ns under a pid-1 reaper */
	int userns;                /* ... and a new user ns (not root) */
	int setcreds;              /* root taking the image's uids and gids */
	int loginuid_differs;      /* inside: the image's is not ours */
	uint64_t lend;             /* capabilities the restorer keeps across
	                            * exec (creds_lend) */
	pid_t child;               /* out: the process, or its reaper */
	int plan_w, status_r;      /* out: the plan's write end, the status's
	                            * read end */
	int err_r;                 /* inside: the child's error pipe */
	int keep_src;              /* keep our copies of the fds moved in
	                            * (a later process of the tree shares
	                            * them: formats/fds.md share=) */
	void (*run)(void *arg);    /* spawn_start: what the child runs (it
	                            * never returns) */
	void *arg;
};

struct spawn_pipes {          /* plan, status, error: read and write ends */
	int plan[2], status[2], err[2];
};

#define SPAWN_TAKEN (-2)

/* A process made earlier (spawn_start, spawntree.c) becomes its
 * image's when told: the plan, status and error pipes (0 or -1 after a
 * message); in the process, with its ends: session, attributes, ids,
 * cwd, fds moved into place, the restorer exec'd (or a struct
 * child_err on the error pipe); in ckpt-thaw once the process holds
 * its ends, its word: 0 once the restorer runs, -1 after a message
 * naming the pid. */
int spawn_pipes(struct spawn *t, struct spawn_pipes *p);
_Noreturn void spawn_become(struct spawn *t, int plan_r, int status_w, int err_w);
int spawn_exec_wait(struct spawn *t, struct spawn_pipes *p);
/* the child's word on its error pipe err_r, which is closed: 0 once
 * the restorer runs, -1 after a message naming what it could not do
 * (t: its core, fds and restorer, for the words) */
int spawn_exec_said(const struct spawn *t, int err_r);

/* The process core->pid (in a new pid and mount namespace, and user
 * namespace with userns, under a pid-1 reaper when newns), running
 * t->run(t->arg), which never returns: 0; SPAWN_TAKEN, silently and
 * with nothing made, when the pid was taken in this namespace since it
 * was checked (not with newns); -1 after a message naming the pid. */
int spawn_start(struct spawn *t);

/* a child with pid (clone3 set_tid), as fork: its pid, 0 in it, -1 */
pid_t clone_with_pid(pid_t pid);

#endif
