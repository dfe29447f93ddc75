/* sockplan.h - how a restore makes a socket fd (fdplan.c's table of
 * kinds): only unix socket pairs, one socketpair(2) per pair, each
 * end's queued bytes (socks/INODE) sent again into the other end. */
#ifndef CKPT_SOCKPLAN_H
#define CKPT_SOCKPLAN_H

struct fdplan;
struct fdplan_fd;

/* NULL when a restore can make socket e of plan p, else why not */
const char *sockplan_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* the fd made in ckpt-thaw for socket e: the fd, -1 with errno, or -2
 * when it was made already with its peer (e->src set) */
int sockplan_open(struct fdplan *p, struct fdplan_fd *e, int pid);

#endif
