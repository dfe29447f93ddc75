/* tcpwait.h - a TCP client of the job whose connection waited, not
 * accepted yet, in the backlog of a listener (formats/fds.md,
 * "Internet sockets"): connected again to that listener once every
 * process has its fds, so that the restored server accepts it. */
#ifndef CKPT_TCPWAIT_H
#define CKPT_TCPWAIT_H

struct fdjob;
struct fdplan;
struct fdplan_fd;

/* socket fd, made for client e (listener=) of process pid: ckpt-thaw
 * keeps it until the settle; the process gets a copy: that, or -1 */
int tcpwait_hold(struct fdplan *p, const struct fdplan_fd *e, int pid, int fd);
/* Each client connected to its listener when a line of the job owns
 * that listener, listening (in the order of the stream: sock_diag does
 * not tell the kernel's accept order), else reset, as a connection to
 * outside the job.  0, or -1 (said). */
int tcpwait_settle(struct fdjob *job);
/* ckpt-thaw's copies closed, the table freed */
void tcpwait_free(struct fdjob *job);

#endif
