/* fdwatch.h - inotify fds of a restore (fdplan.c's table of kinds) */
#ifndef CKPT_FDWATCH_H
#define CKPT_FDWATCH_H

struct fdplan;
struct fdplan_fd;

/* NULL when every watch of inotify fd e has a path to what it watches
 * and a watch descriptor a restore makes again, else why not */
const char *fdwatch_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* inotify_init1, then each watch of e in the order of its number, as
 * the job (jobfs): the fd, or -1 with errno (ECANCELED: said) */
int fdwatch_open(struct fdplan *p, struct fdplan_fd *e, int pid);

#endif
