/* fdlink.c - a path to an inode that an fd or a watch holds, looked
 * for as the job's user (fdlink.h) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdlink.h"
#include "io.h"
#include "kproc.h"

/* what a path must lead to, and where to look for one */
struct want {
	dev_t dev;
	ino_t ino;
	int acc;                   /* access(2) mode the job must have */
	int dir_ok;                /* a directory will do, not only a file */
	char cand[PATH_MAX];       /* a path to check first, or "" */
	char dir[PATH_MAX];        /* then the entries of this directory */
};

/* as the job's file-system ids, so that what we find is what the job
 * could find and open: never with our (root's) wider reach */
static int become_job(pid_t pid)
{
	char path[64], *status;
	struct kcreds c;
	int r;

	if (geteuid() != 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(status = read_file(path, NULL)))
		return -1;
	r = kcreds_parse(status, &c);
	free(status);
	if (r < 0 || setgroups(c.ngroups, c.groups) < 0 ||
	    setresgid(c.gid[3], c.gid[3], c.gid[3]) < 0 ||
	    setresuid(c.uid[3], c.uid[3], c.uid[3]) < 0)
		return -1;
	return 0;
}

/* path leads to the inode, of a kind w takes, and the job may use it */
static int leads(const struct want *w, int dfd, const char *name, const char *path)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (S_ISREG(st.st_mode) || (w->dir_ok && S_ISDIR(st.st_mode))) &&
	       st.st_dev == w->dev && st.st_ino == w->ino &&
	       faccessat(AT_FDCWD, path, w->acc, AT_EACCESS) == 0;
}

/* in the child: the path found, written to fd out */
static int search(const struct want *w, int out)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n;

	if (w->cand[0] && leads(w, AT_FDCWD, w->cand, w->cand))
		return write_all(out, w->cand, strlen(w->cand)) < 0 ? -1 : 0;
	if (!w->dir[0] || !(d = opendir(w->dir)))
		return -1;
	while ((de = readdir(d))) {
		n = snprintf(path, sizeof path, "%s/%s", strcmp(w->dir, "/") ? w->dir : "",
			     de->d_name);
		if (n < 0 || n >= (int)sizeof path || !strcmp(de->d_name, "..") ||
		    !leads(w, dirfd(d), de->d_name, path))
			continue;
		if (!strcmp(de->d_name, "."))
			n = snprintf(path, sizeof path, "%s", w->dir);
		closedir(d);
		return write_all(out, path, n) < 0 ? -1 : 0;
	}
	closedir(d);
	return -1;
}

/* search in a child that is the job's user: 0 and the path, or -ENOENT */
static int search_as_job(pid_t pid, const struct want *w, char *out, size_t cap)
{
	int p[2], st;
	ssize_t n;
	pid_t c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	if ((c = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -EAGAIN;
	}
	if (c == 0)
		_exit(become_job(pid) < 0 || search(w, p[1]) < 0);
	close(p[1]);
	n = read_all(p[0], out, cap - 1);
	close(p[0]);
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -ENOENT;
	out[n] = 0;
	return 0;
}

int fdlink_find(pid_t pid, const char *gone, dev_t dev, ino_t ino, int flags,
		char *out, size_t cap)
{
	static const int acc[] = { R_OK, W_OK, R_OK | W_OK, R_OK };
	const char *slash = strrchr(gone, '/');
	struct want w = { .dev = dev, .ino = ino,
			  .acc = (flags & O_PATH) ? F_OK : acc[flags & O_ACCMODE] };

	if (!slash || (size_t)(slash - gone) >= sizeof w.dir)
		return -ENOENT;
	snprintf(w.dir, sizeof w.dir, "%.*s", slash == gone ? 1 : (int)(slash - gone), gone);
	return search_as_job(pid, &w, out, cap);
}

/* the mount point, in our mount namespace, of a mount of the whole
 * file system dev (root "/"), opened; -1 if none */
static int mount_of(dev_t dev)
{
	char *info = read_file("/proc/self/mountinfo", NULL), *line, *next;
	char root[PATH_MAX], at[PATH_MAX];
	unsigned maj, min;
	int fd = -1;

	for (line = info; line && *line && fd < 0; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%*d %*d %u:%u %4095s %4095s", &maj, &min, root, at) == 4 &&
		    makedev(maj, min) == dev && !strcmp(root, "/") && !strchr(at, '\\'))
			fd = open(at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* not O_PATH: EBADF */
	}
	free(info);
	return fd;
}

/* what the kernel's handle names, as a path (root only: it takes
 * CAP_DAC_READ_SEARCH); "" when it cannot say */
static void handle_path(dev_t dev, int htype, const char *hex, char *out, size_t cap)
{
	static union { struct file_handle fh; char b[sizeof(struct file_handle) + 128]; } h;
	size_t i, n = strlen(hex) / 2;
	char proc[64];
	int mfd, fd;
	ssize_t r;

	out[0] = 0;
	if (geteuid() != 0 || n > 128 || (mfd = mount_of(dev)) < 0)
		return;
	h.fh.handle_bytes = n;
	h.fh.handle_type = htype;
	for (i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&h.fh.f_handle[i]);
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	r = readlink(proc, out, cap - 1);
	out[r > 0 ? r : 0] = 0;
	close(fd);
}

int fdlink_watched(pid_t pid, dev_t dev, ino_t ino, const char *handle, char *out, size_t cap)
{
	struct want w = { .dev = dev, .ino = ino, .acc = R_OK, .dir_ok = 1 };
	char proc[64];
	unsigned htype;
	ssize_t r;

	if (handle && sscanf(handle, "%u:", &htype) == 1 && strchr(handle, ':'))
		handle_path(dev, htype, strchr(handle, ':') + 1, w.cand, sizeof w.cand);
	snprintf(proc, sizeof proc, "/proc/%d/cwd", (int)pid);
	r = readlink(proc, w.dir, sizeof w.dir - 1);
	w.dir[r > 0 && w.dir[0] == '/' ? r : 0] = 0;
	return search_as_job(pid, &w, out, cap);
}
