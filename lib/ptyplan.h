/* ptyplan.h - how a restore makes a pseudo-terminal's fds (fdplan.c's
 * table of kinds; formats/fds.md, "Terminals"): one new pair per pair
 * of the job, its master opened on /dev/ptmx by the job's helper (so
 * the new slave is the job's user's), its slaves opened from the
 * master (TIOCGPTPEER), never by a path; its termios, window size,
 * packet mode, queued bytes and lock as they were; the session whose
 * controlling terminal it was takes it again (pty_ctty_take, in the
 * session leader).  A slave whose master is not in the job is a
 * terminal outside it: opened by path, as the job. */
#ifndef CKPT_PTYPLAN_H
#define CKPT_PTYPLAN_H
#include <sys/types.h>

struct fdjob;
struct fdplan;
struct fdplan_fd;
struct img_manifest;

struct pty_pair {
	int index;                 /* at the checkpoint */
	int master, slave;         /* ckpt-thaw's: a copy of the master,
	                            * and a slave of its own until settled */
	int lock;                  /* TIOCSPTLCK once every slave is open */
	pid_t sid, fg;             /* whose controlling terminal, 0: none */
	int ctty_taken;            /* its session leader takes it as it is
	                            * made (a ctty line: ptyplan_sessions) */
	int has_line;              /* a master line of the image made it */
};

/* Before the tree is made: a pair for each session of manifest m
 * whose terminal is one of the job's ptys (its ctty line), opened by
 * root's helper (the job's first process, pid), and its slave in the
 * manifest line (ctty_fd), for the session leader to take as its
 * controlling terminal before it makes its children, which inherit it
 * (spawntree.c).  0, or -1 after a message. */
int ptyplan_sessions(struct fdjob *job, struct img_manifest *m, struct fdplan *root, pid_t pid);
/* NULL when a restore can make e, else why not */
const char *ptyplan_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* e is a slave whose master is in the job (made already, or a line of
 * this process): not stdio that led outside */
int ptyplan_in_job(const struct fdplan *p, const struct fdplan_fd *e);
/* the fd made in ckpt-thaw for e: a master makes its pair; a slave
 * opens its pair's; -2 for a slave whose master is not in the job
 * (fdplan opens it by path); -1 with errno (ECANCELED: said) */
int ptyplan_open(struct fdplan *p, struct fdplan_fd *e, int pid);
/* Every process has its fds: each pair's session leader took it
 * (else refused), its lock set, ckpt-thaw's ends closed.  0, or -1
 * after a message naming the pty. */
int ptyplan_settle(struct fdjob *job);
void ptyplan_free(struct fdjob *job);
/* In the new process, once its fds are in place: fd, a slave, made
 * its controlling terminal (it is a session leader without one) and
 * fg its foreground group (when not 0).  Async-signal-safe; 0 or
 * -errno. */
int pty_ctty_take(int fd, pid_t fg);

#endif
