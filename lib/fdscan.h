/* fdscan.h - the fds of a process of a frozen job, as /proc/PID/fd
 * lists them, each with the stat of what it is open on: read once per
 * process and kept for every check of ckpt-freeze that asks
 * (sockjob.c, ptyjob.c, fdshare.c).  A job of 2200 socket fds was
 * listed three times over, a readlink or a stat of /proc/PID/fd/N for
 * each fd each time.  Only for processes that stay frozen while the
 * tool runs: what is kept is never read again. */
#ifndef CKPT_FDSCAN_H
#define CKPT_FDSCAN_H
#include <sys/stat.h>
#include <sys/types.h>

struct fdscan_ent {
	int fd;
	struct stat st;            /* of the file it is open on */
};

struct fdscan {
	pid_t pid;
	struct fdscan_ent *v;      /* by fd number */
	size_t n;
};

/* pid's fds, read by the first call for pid; NULL with errno set when
 * /proc/PID/fd cannot be read (gone, or not ours to read).  An fd
 * whose stat fails (closed meanwhile) is left out. */
const struct fdscan *fdscan_of(pid_t pid);

#endif
