/* restorable.h - what a restore can bring back, said once: ckpt-thaw
 * refuses by it, and ckpt-freeze --kill checks by it before it
 * destroys a process whose image could not come back. */
#ifndef CKPT_RESTORABLE_H
#define CKPT_RESTORABLE_H

struct fdplan;
struct fdplan_fd;

/* NULL when a restore makes fd e of plan p, else why not (a phrase
 * that follows "cannot be restored: ") */
const char *fd_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* fds 0-2 that led outside the job: a restore attaches them to its own
 * stdio instead of making them */
int fd_outside_job(const struct fdplan_fd *e);
const char *fdplan_fd_name(const struct fdplan_fd *e);
/* Every fd and epoll registration of the plan that a restore could not
 * make, each named in a message; the count. */
int fdplan_check(const struct fdplan *p, int pid);
/* the same for the text of a proc/PID/fds member (changed in place):
 * the count, or -1 when it does not parse */
int fds_restorable(int pid, char *text);

#endif
