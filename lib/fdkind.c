/* fdkind.c - the fd kinds and their names (fdkind.h) */
#include <string.h>

#include "fdkind.h"

static const char *const kind_names[] = {
	[FD_FILE] = "file", [FD_DELETED] = "deleted", [FD_MEMFD] = "memfd",
	[FD_DIR] = "dir", [FD_CHR] = "chr", [FD_BLK] = "blk",
	[FD_FIFO] = "fifo", [FD_PIPE] = "pipe", [FD_SOCKET] = "socket",
	[FD_EVENTFD] = "eventfd", [FD_EPOLL] = "epoll",
	[FD_TIMERFD] = "timerfd", [FD_SIGNALFD] = "signalfd",
	[FD_INOTIFY] = "inotify", [FD_PIDFD] = "pidfd", [FD_ANON] = "anon",
	[FD_OTHER] = "other", [FD_NS] = "ns", [FD_SYMLINK] = "symlink",
	[FD_PTMX] = "ptmx", [FD_PTS] = "pts",
	[FD_UNKNOWN] = "unknown",
};

const char *fd_kind_name(enum fd_kind k)
{
	return k <= FD_UNKNOWN ? kind_names[k] : kind_names[FD_UNKNOWN];
}

enum fd_kind fd_kind_parse(const char *name)
{
	unsigned k;

	for (k = 0; k < FD_UNKNOWN; k++)
		if (!strcmp(kind_names[k], name))
			return k;
	return FD_UNKNOWN;
}

int fd_kind_is_file(enum fd_kind k)
{
	return k == FD_FILE || k == FD_DELETED || k == FD_MEMFD;
}
