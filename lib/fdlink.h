/* fdlink.h - another name of a file that was unlinked while open but
 * whose inode lives on under another link (formats/fds.md, "deleted"):
 * a restore that reopens that name reaches the same file, where a copy
 * would not. */
#ifndef CKPT_FDLINK_H
#define CKPT_FDLINK_H
#include <stddef.h>
#include <sys/types.h>

/* A name, in the directory of gone (the unlinked name), of the regular
 * file dev:ino, looked for as process pid's file-system user and
 * groups (when we are root; else as ourselves, the same user), and
 * that user may open with the access mode of flags.  0 with the path
 * in out, -ENOENT when there is none, or -errno. */
int fdlink_find(pid_t pid, const char *gone, dev_t dev, ino_t ino, int flags,
		char *out, size_t cap);

struct fdlink_watch {          /* one inotify watch to find a path for */
	dev_t dev;
	ino_t ino;
	char handle[300];          /* its file handle "TYPE:HEX" from fdinfo, or "" */
	char *path;                /* out: malloc'd, or NULL: none found */
};

/* A path to what each inotify watch of process pid watches: when we
 * are root, the path its handle opens to; else, or failing that, an
 * entry of the process's working directory (or that directory).
 * Checked as the job's user (one child for all): a file or a
 * directory it may read, as inotify needs.  0, or -errno (no path
 * set). */
int fdlink_watched(pid_t pid, struct fdlink_watch *q, size_t n);

#endif
