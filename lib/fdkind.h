/* fdkind.h - the kinds of open fd and their names in proc/PID/fds
 * (formats/fds.md, "Kinds and their own keys"): the one table that
 * ckpt-dumpfds writes by and ckpt-thaw reads by. */
#ifndef CKPT_FDKIND_H
#define CKPT_FDKIND_H

enum fd_kind {
	FD_FILE, FD_DELETED, FD_MEMFD, FD_DIR, FD_CHR, FD_BLK, FD_FIFO,
	FD_PIPE, FD_SOCKET, FD_EVENTFD, FD_EPOLL, FD_TIMERFD, FD_SIGNALFD,
	FD_INOTIFY, FD_PIDFD, FD_ANON, FD_OTHER,
	FD_NS,          /* a namespace (/proc/PID/ns/NAME, nsfs) */
	FD_SYMLINK,     /* a symlink itself (O_PATH|O_NOFOLLOW) */
	FD_PTMX,        /* a pseudo-terminal's master (/dev/ptmx, 5:2) */
	FD_PTS,         /* a pseudo-terminal's slave (/dev/pts/N) */
	FD_UNKNOWN,     /* read only: a name this tree does not know */
};

/* the name a kind is written as ("file", "eventfd", ...) */
const char *fd_kind_name(enum fd_kind k);
/* the kind a name stands for, FD_UNKNOWN if none */
enum fd_kind fd_kind_parse(const char *name);
/* a regular file (file, deleted, memfd): contents a dump may save */
int fd_kind_is_file(enum fd_kind k);

#endif
