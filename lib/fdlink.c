/* fdlink.c - another name of a file unlinked while open (fdlink.h) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdlink.h"
#include "io.h"
#include "kproc.h"

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

/* the search itself, in the child: the name written to fd w */
static int search(const char *dir, dev_t dev, ino_t ino, int flags, int w)
{
	static const int want[] = { R_OK, W_OK, R_OK | W_OK, R_OK };
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int n;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino)
			continue;
		n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (n < 0 || n >= (int)sizeof path ||
		    ((flags & O_PATH) ? 0 : faccessat(AT_FDCWD, path, want[flags & O_ACCMODE], AT_EACCESS)) < 0)
			continue;
		closedir(d);
		return write_all(w, path, n) < 0 ? -1 : 0;
	}
	closedir(d);
	return -1;
}

int fdlink_find(pid_t pid, const char *gone, dev_t dev, ino_t ino, int flags,
		char *out, size_t cap)
{
	const char *slash = strrchr(gone, '/');
	char dir[PATH_MAX];
	int p[2], st;
	ssize_t n;
	pid_t c;

	if (!slash || (size_t)(slash - gone) >= sizeof dir)
		return -ENOENT;
	snprintf(dir, sizeof dir, "%.*s", slash == gone ? 1 : (int)(slash - gone), gone);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	if ((c = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -EAGAIN;
	}
	if (c == 0)
		_exit(become_job(pid) < 0 || search(dir, dev, ino, flags, p[1]) < 0);
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
