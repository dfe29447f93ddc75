/* jobfs.h - a restore's file work, done as the job (doc/design.md,
 * "Trust").  A child of ckpt-thaw takes the image's uids, gids and
 * groups (when ckpt-thaw is root; else it keeps ours, which are the
 * job's), drops every capability, and opens, creates and renames for
 * ckpt-thaw, handing the fds back over a socket.  So whatever it does,
 * the job's user could have done: a symlink, a device or a crafted path
 * reaches only what that user reaches. */
#ifndef CKPT_JOBFS_H
#define CKPT_JOBFS_H
#include <sys/socket.h>
#include <sys/types.h>

struct img_core;

struct jobfs {
	pid_t pid;                 /* the helper, 0 before it starts */
	int sock;
	unsigned bound;            /* socket files it made: to commit */
	unsigned deleted;          /* deleted files it made: to commit */
};

struct sockaddr_un;

/* 0, or -1 after a message naming pid (the image's pid) */
int jobfs_start(struct jobfs *j, const struct img_core *c);
/* open(path, flags) as the job: the fd, or -errno */
int jobfs_open(struct jobfs *j, const char *path, int flags);
/* a new file (O_RDWR, mode) that takes the place of path at the
 * commit, under a temporary name beside it until then: the fd, or
 * -errno */
int jobfs_newfile(struct jobfs *j, const char *path, unsigned mode);
/* a deleted file made again (O_RDWR, mode): beside path under a
 * temporary name until the commit, which unlinks it from path's name
 * (from the temporary one when path is taken by then), so that its
 * fds read "PATH (deleted)": the fd, or -errno */
int jobfs_deleted(struct jobfs *j, const char *path, unsigned mode);
/* Every new file over its path, or none: each is swapped in
 * (RENAME_EXCHANGE, so that a later failure can swap the old one back),
 * then the old ones go.  0, or -errno with *bad the index (in the order
 * of jobfs_newfile) that failed. */
int jobfs_commit(struct jobfs *j, unsigned *bad);
/* Unix socket fd bound to address a (alen bytes; NULL: not bound) as
 * the job, then listen(backlog) when backlog >= 0.  A path that is
 * there must be a socket file nobody is behind: moved aside until the
 * commit (back if the helper ends before it); the new file gets mode.
 * 0, or -errno: -EEXIST a file of another kind is there (left alone),
 * -EADDRINUSE a live socket is. */
int jobfs_sock_bind(struct jobfs *j, int fd, const struct sockaddr_un *a, socklen_t alen,
		    unsigned mode, int backlog);
/* connect(2) of unix socket fd to a, as the job, without waiting:
 * 0 or -errno */
int jobfs_sock_connect(struct jobfs *j, int fd, const struct sockaddr_un *a, socklen_t alen);
/* path, bound by jobfs_sock_bind, as it was before: the new socket
 * file removed (only while it is still that file), the old one back.
 * 0 or -errno */
int jobfs_sock_unbind(struct jobfs *j, const char *path);
/* socket(domain, type, proto) as the job, so that the job's user owns
 * it: the fd, or -errno */
int jobfs_socket(struct jobfs *j, int domain, int type, int proto);
/* bind(fd, addr, len) as the job: what its user may not take the
 * kernel refuses.  0, or -errno */
int jobfs_bind(struct jobfs *j, int fd, const void *addr, unsigned len);
/* ends the helper and waits for it: nothing of it outlives the call */
void jobfs_stop(struct jobfs *j);

#endif
