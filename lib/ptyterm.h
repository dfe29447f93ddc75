/* ptyterm.h - the job's own terminal at a restore (formats/fds.md,
 * "Terminals"): a job that ran in the foreground of a terminal outside
 * it (the one ckpt-run ran on) gets ckpt-thaw's, with the job's termios
 * and its foreground; SIGWINCH when the size is another.  ckpt-thaw
 * gives its terminal back as it had it when the job ends. */
#ifndef CKPT_PTYTERM_H
#define CKPT_PTYTERM_H
#include <sys/types.h>
#include <termios.h>

struct fdplan;
struct img_core;
struct img_manifest;

struct pty_term {
	int fd;                    /* ckpt-thaw's terminal, or -1 */
	struct termios saved;      /* as it was before the job's */
	pid_t pgid;                /* the job's group made its foreground, 0 */
};

/* The root's plan: a job that ran in the foreground of a terminal
 * (an fd 0-2 on it, its controlling terminal, fg its group) needs one:
 * 0 when ckpt-thaw has a controlling terminal or the job needs none,
 * -1 after a message naming the fd. */
int ptyterm_check(const struct fdplan *root, pid_t pgid);
/* A root that led its own session on a terminal outside the job (a
 * program run on a terminal of its own, as a terminal emulator or
 * ssh runs a shell) would lead a new one without a terminal: a
 * terminal is one session's, and ckpt-thaw's is its caller's.  When
 * ckpt-thaw has one, the root's session becomes ckpt-thaw's instead
 * (in manifest m: the sid of every process of it), so that the job
 * gets the terminal; its process group stays its own. */
void ptyterm_session(struct img_manifest *m, const struct fdplan *root);
/* Once the job runs (its root is pid, as ckpt-thaw sees it): its
 * termios on ckpt-thaw's terminal, its group the foreground when it
 * was and ckpt-thaw's is, and SIGWINCH to it when the window size
 * differs from the image's.  Nothing when the job had no terminal or
 * ckpt-thaw has none. */
void ptyterm_take(struct pty_term *pt, const struct fdplan *root, pid_t pid);
/* --pty (ptyrelay.h): a new terminal for the job, with the termios
 * and window size of the root's line on the terminal it ran on (as a
 * new pair has them when it ran on none, 24x80); in_too: stdin is
 * typed into it.  Returns in ckpt-thaw's child only: the slave, its
 * controlling terminal, for the job's stdio that was on a terminal;
 * as root, the job's (c: the root process's file ids). */
int ptyterm_new(const struct fdplan *root, const struct img_core *c, int in_too);
/* the terminal as ckpt-thaw had it: its foreground and termios */
void ptyterm_give_back(struct pty_term *pt);

#endif
