/* spawn.h - making the process to restore: its old pid, in this pid
 * namespace or a new one, its credentials, session, cwd and fds, then
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
};

#define SPAWN_TAKEN (-2)

/* 0 once the restorer runs in the new process; -1 after a message
 * naming the pid, with sp->child (if > 0) left for the caller to kill;
 * SPAWN_TAKEN, silently and with nothing made, when the pid was taken
 * in this namespace since it was checked (not with newns) */
int spawn_restorer(struct spawn *sp);

#endif
