/* ptydump.h - a pseudo-terminal's fds as ckpt-dumpfds writes them
 * (formats/fds.md, "Terminals"): the keys of a master's and a slave's
 * line, and the bytes queued in a pair */
#ifndef CKPT_PTYDUMP_H
#define CKPT_PTYDUMP_H
#include <stddef.h>
#include <sys/types.h>

#include "fdinfo.h"

/* the kind of a character device fd: FD_PTMX, FD_PTS, or FD_CHR */
enum fd_kind pty_kind(const struct fd_desc *d);
/* d's own keys (pty=, termios=, winsize=; a master's lock=, pkt=,
 * sid=, fg=) added to d->extra, d->pty set */
void pty_describe(struct fd_desc *d);
/* The member ptys/N of master d (our copy): the bytes queued each way,
 * taken and put back (pty.h), malloc'd, *len its size; NULL with
 * *len 0 when none are queued or the slave cannot be opened (locked);
 * NULL with *err -errno on failure. */
char *pty_queue_copy(const struct fd_desc *d, size_t *len, int *err);

/* pid's controlling terminal and its foreground group, as
 * /proc/PID/stat says (tty_nr, tpgid): 0, or -1 when it has none */
int pty_ctty_of(pid_t pid, dev_t *tty, pid_t *tpgid);

#endif
