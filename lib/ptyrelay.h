/* ptyrelay.h - ckpt-thaw --pty: the job on a new terminal that
 * ckpt-thaw makes, as script(1) runs a shell on one.  ckpt-thaw splits
 * in two: a child that leads a new session whose controlling terminal
 * is the new slave, and restores the job on it; and the caller's
 * process, which holds the master and relays between it and its own
 * stdin and stdout until the child ends, then exits with its status
 * (doc/ckpt-thaw.1, formats/fds.md "Terminals"). */
#ifndef CKPT_PTYRELAY_H
#define CKPT_PTYRELAY_H
#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

/* The new pair with termios t (NULL: its own) and window size w (when the caller's
 * stdin is a terminal: its size instead, and the caller's terminal in
 * raw mode while the job runs, as script(1) does); in_too: what comes
 * on stdin is typed into the terminal (0 when stdin carries the image),
 * its end as the terminal's end-of-file character when ICANON is on.
 * As root the new slave is made the job's (uid, gid: its file
 * ids), as when the job's own helper opens a master (ptyplan.h): a
 * program of the job may open its terminal by its name again.
 * Returns only in the child: the slave (an fd above 2), its controlling
 * terminal.  The caller's process never returns: it exits with the
 * child's status (128+signal when a signal ended it), or 1 after a
 * message when no pair could be made. */
int ptyrelay_start(const struct termios *t, const struct winsize *w, int in_too, uid_t uid,
		   gid_t gid);

#endif
