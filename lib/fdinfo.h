/* fdinfo.h - describing one open fd of a checkpointed process.
 *
 * The fd arrives as a copy (SCM_RIGHTS from the shim), so it shares
 * the open file description with the process's fd: its offset, status
 * flags and, for a pipe, the pipe itself.  Nothing here moves the
 * offset or takes bytes out of a queue. */
#ifndef CKPT_FDINFO_H
#define CKPT_FDINFO_H
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdkind.h"

struct fd_desc {
	int fd;             /* its number in the process */
	int local;          /* our copy */
	int cloexec;        /* FD_CLOEXEC in the process */
	int flags;          /* F_GETFL: status flags and access mode */
	enum fd_kind kind;
	struct stat st;
	int64_t pos;        /* the shared offset */
	int mnt_id;
	int pty;            /* a pseudo-terminal's index (ptydump.h), else -1 */
	char path[PATH_MAX];   /* readlink of our copy, " (deleted)" cut */
	char extra[1536];   /* the kind's own " key=value" fields: room for
	                     * two escaped sun_paths or a memfd name */
	char *sublines;     /* malloc'd lines that follow the fd's line
	                     * (epoll targets, inotify watches), or NULL */
};

/* Fill d for the process's fd, whose copy is local.  0, or -errno
 * (the message is the caller's: it knows the pid). */
int fd_describe(struct fd_desc *d, int fd, int local, int fdflags);
/* Add a "lock" line to d->sublines for each lock the process holds
 * through its fd (flock, POSIX and OFD record locks, leases), from
 * /proc/PID/fdinfo/FD: only there do POSIX locks show, which belong to
 * the process, not to our copy.  0 or -errno. */
int fd_locks(struct fd_desc *d, pid_t pid);
/* Order two of our fds by their open file description (kcmp): 0 when
 * they share it, <0 or >0 otherwise, a total order. */
int fd_file_cmp(int a, int b);
/* Whether the toff-th registration under fd number tfd of the epoll
 * eplocal (our copy) watches the open file description of our fd
 * local (kcmp KCMP_EPOLL_TFD): 1 yes, 0 no, -errno cannot tell */
int fd_epoll_watches(int eplocal, int tfd, int toff, int local);
/* The holes of the file that fd reads, in its first size bytes, as
 * "OFF+LEN,..." (formats/fds.md, holes=; at most FILE_HOLES_MAX of
 * them), malloc'd; NULL when it has none (or the file system cannot
 * say).  Moves fd's offset: give it a reader of its own. */
#define FILE_HOLES_MAX 64
char *file_holes(int fd, uint64_t size);
/* An fd that reads the same file as local without touching its
 * offset: local itself when it is readable, else a fresh open of it
 * through /proc/self/fd.  -errno on failure. */
int fd_reader(const struct fd_desc *d);
/* The bytes queued in the pipe that local reads from, copied with
 * tee(2), left in the pipe.  Returns a malloc'd buffer (NULL and *len
 * = 0 when the pipe is empty); *err gets -errno on failure. */
char *pipe_peek(int local, size_t *len, int *err);
/* append printf output to d->extra (sockdump.c adds a socket's) */
__attribute__((format(printf, 2, 3)))
void extra_add(struct fd_desc *d, const char *fmt, ...);

#endif
