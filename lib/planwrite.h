/* planwrite.h - the plan of one process (lib/plan.h), from what was
 * read of it, written into the restorer's plan pipe */
#ifndef CKPT_PLANWRITE_H
#define CKPT_PLANWRITE_H

struct img_proc;

/* newns: restored in a new pid namespace; userns: and a new user
 * namespace (the ids stay ours).  0; -1 when the pipe failed (the
 * restorer is gone: its status says why); -2 after a message when the
 * address space has no room for the restorer. */
int plan_write(int fd, const struct img_proc *p, int newns, int userns);

#endif
