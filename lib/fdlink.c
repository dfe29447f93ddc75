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

#include "escape.h"
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

/* in the child: the path found, in out (cap bytes): 0, or -1 */
static int find(const struct want *w, char *out, size_t cap)
{
	struct dirent *de;
	DIR *d;
	int n;

	if (w->cand[0] && leads(w, AT_FDCWD, w->cand, w->cand))
		return snprintf(out, cap, "%s", w->cand) < (int)cap ? 0 : -1;
	if (!w->dir[0] || !(d = opendir(w->dir)))
		return -1;
	while ((de = readdir(d))) {
		n = !strcmp(de->d_name, ".") ? snprintf(out, cap, "%s", w->dir) :
		    snprintf(out, cap, "%s/%s", strcmp(w->dir, "/") ? w->dir : "", de->d_name);
		if (n < 0 || n >= (int)cap || !strcmp(de->d_name, "..") ||
		    !leads(w, dirfd(d), de->d_name, out))
			continue;
		closedir(d);
		return 0;
	}
	closedir(d);
	return -1;
}

/* all a pipe gives until its end, NUL-terminated (read_fd_all preads,
 * which a pipe refuses); NULL on error */
static char *pipe_slurp(int fd)
{
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	/* read_all stops short only at the end */
	while (buf && (r = read_all(fd, buf + len, cap - len - 1)) >= 0) {
		len += r;
		if (len < cap - 1) {
			buf[len] = 0;
			return buf;
		}
		if (!(nb = realloc(buf, cap *= 2)))
			break;
		buf = nb;
	}
	free(buf);
	return NULL;
}

/* fn(arg, fd) in a child that has become the job's user, what it
 * writes to fd returned (malloc'd, NUL-terminated); NULL when it
 * failed */
static char *as_job(pid_t pid, int (*fn)(void *arg, int fd), void *arg)
{
	char *text;
	int p[2], st;
	pid_t c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	fflush(NULL);
	if ((c = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (c == 0)
		_exit(become_job(pid) < 0 || fn(arg, p[1]) < 0);
	close(p[1]);
	text = pipe_slurp(p[0]);
	close(p[0]);
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	if (text && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		free(text);
		text = NULL;
	}
	return text;
}

/* in the child: the path find gives, to fd */
static int find_write(void *arg, int fd)
{
	static char path[PATH_MAX];

	return find(arg, path, sizeof path) < 0 ? -1 : write_all(fd, path, strlen(path));
}

int fdlink_find(pid_t pid, const char *gone, dev_t dev, ino_t ino, int flags,
		char *out, size_t cap)
{
	static const int acc[] = { R_OK, W_OK, R_OK | W_OK, R_OK };
	const char *slash = strrchr(gone, '/');
	struct want w = { .dev = dev, .ino = ino,
			  .acc = (flags & O_PATH) ? F_OK : acc[flags & O_ACCMODE] };
	char *found;
	int r;

	if (!slash || (size_t)(slash - gone) >= sizeof w.dir)
		return -ENOENT;
	snprintf(w.dir, sizeof w.dir, "%.*s", slash == gone ? 1 : (int)(slash - gone), gone);
	if (!(found = as_job(pid, find_write, &w)))
		return -ENOENT;
	r = found[0] && strlen(found) < cap ? 0 : -ENOENT;
	if (r == 0)
		strcpy(out, found);
	free(found);
	return r;
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
 * CAP_DAC_READ_SEARCH), malloc'd into *out; NULL when it cannot say */
static void handle_path(dev_t dev, int htype, const char *hex, char **out)
{
	static union { struct file_handle fh; char b[sizeof(struct file_handle) + 128]; } h;
	static char path[PATH_MAX];
	size_t i, n = strlen(hex) / 2;
	char proc[64];
	int mfd, fd;
	ssize_t r;

	*out = NULL;
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
	r = readlink(proc, path, sizeof path - 1);
	close(fd);
	if (r > 0 && path[0] == '/') {
		path[r] = 0;
		*out = strdup(path);
	}
}

/* in the child, as the job: for each watch, its path escaped on a
 * line of its own (an empty line: none), the candidate first, then an
 * entry of dir (or dir itself) */
struct watched {               /* what watched_lines looks for */
	struct fdlink_watch *q;
	size_t n;
	const char *dir;
};

static int watched_lines(void *arg, int out)
{
	const struct watched *a = arg;
	struct fdlink_watch *q = a->q;
	size_t n = a->n;
	const char *dir = a->dir;
	static char esc[4 * PATH_MAX + 2], path[PATH_MAX];
	static struct want w = { .acc = R_OK, .dir_ok = 1 };
	FILE *f = fdopen(out, "w");
	size_t i;

	if (!f)
		return -1;
	snprintf(w.dir, sizeof w.dir, "%s", dir);
	for (i = 0; i < n; i++) {
		w.dev = q[i].dev;
		w.ino = q[i].ino;
		snprintf(w.cand, sizeof w.cand, "%s", q[i].path ? q[i].path : "");
		esc[0] = 0;
		if (find(&w, path, sizeof path) == 0)
			str_escape(path, esc, sizeof esc);
		fprintf(f, "%s\n", esc);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int fdlink_watched(pid_t pid, struct fdlink_watch *q, size_t n)
{
	char proc[64], dir[PATH_MAX], *text, *line, *next;
	unsigned htype;
	size_t i;
	ssize_t r;

	for (i = 0; i < n; i++) {
		q[i].path = NULL;
		if (q[i].handle[0] && sscanf(q[i].handle, "%u:", &htype) == 1 && strchr(q[i].handle, ':'))
			handle_path(q[i].dev, htype, strchr(q[i].handle, ':') + 1, &q[i].path);
	}
	snprintf(proc, sizeof proc, "/proc/%d/cwd", (int)pid);
	r = readlink(proc, dir, sizeof dir - 1);
	dir[r > 0 && dir[0] == '/' ? r : 0] = 0;
	text = as_job(pid, watched_lines, &(struct watched){ q, n, dir });
	for (i = 0; i < n; i++) {
		free(q[i].path);
		q[i].path = NULL;
	}
	if (!text)
		return -ENOENT;
	for (i = 0, line = text; i < n && *line; i++, line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;
		*next++ = 0;
		if (*line && str_unescape(line) == 0)
			q[i].path = strdup(line);
	}
	free(text);
	return 0;
}
