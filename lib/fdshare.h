/* fdshare.h - the fds of the processes that come earlier in a job's
 * stream, as the kernel shows them (/proc/PID/fd, fdinfo, kcmp), so
 * that ckpt-dumpfds writes what a later process shares with them once
 * (formats/fds.md, "Shared between processes") */
#ifndef CKPT_FDSHARE_H
#define CKPT_FDSHARE_H
#include <sys/types.h>

struct fdshare_ent {
	pid_t pid;
	int fd;
	int flags;          /* fdinfo flags of a pipe end or a file */
	dev_t dev;
	ino_t ino;
};

struct fdshare {
	struct fdshare_ent *v;   /* by stream order of pid, then by fd */
	size_t n, cap;
};

/* Load the fds of pids (comma-separated, in stream order).  0, or -1
 * after a message naming the pid. */
int fdshare_load(struct fdshare *s, const char *pids);
/* Add the fds of pid, the next process in stream order: 0 or -1 */
int fdshare_add(struct fdshare *s, pid_t pid);
/* The table as text, entries from..n, one "PID FD DEV INO FLAGS" a
 * line, appended to fd: 0 or -errno.  ckpt-freeze keeps the job's
 * table so, and gives each ckpt-dumpfds the table of the processes
 * before it (--shared-table): each process's fds are read once. */
int fdshare_save(const struct fdshare *s, size_t from, int fd);
/* The table from such a text, read whole from fd (offset 0): 0, or -1
 * after a message */
int fdshare_read(struct fdshare *s, int fd);
void fdshare_free(struct fdshare *s);
/* The first fd, in stream order, of an earlier process that has the
 * same open file description as our fd local (on dev, ino), or NULL */
const struct fdshare_ent *fdshare_same(const struct fdshare *s, int local, dev_t dev, ino_t ino);
/* The first fd of an earlier process on inode (dev, ino), any
 * description; want_read: only a pipe end it may read from.  NULL if
 * none. */
const struct fdshare_ent *fdshare_inode(const struct fdshare *s, dev_t dev, ino_t ino, int want_read);
/* The first fd of an earlier process on inode (dev, ino) through
 * another open file description than our fd local; NULL if none */
const struct fdshare_ent *fdshare_other(const struct fdshare *s, int local, dev_t dev, ino_t ino);

#endif
