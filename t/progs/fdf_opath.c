/* fdf_opath - O_PATH fds, and fds on namespaces (t/fidelity-fds.bats,
 * issue 17).
 *
 * usage: fdf_opath DIR [otherns]
 *
 * In DIR: a file "f" ("bytes"), a directory "d" holding "inside", a
 * symlink "l" to "f".  Opens: file = open(DIR/f, O_PATH); dir =
 * open(DIR/d, O_PATH|O_DIRECTORY); link = open(DIR/l,
 * O_PATH|O_NOFOLLOW) (the symlink itself); netns =
 * open(/proc/self/ns/net, O_PATH); utsns = open(/proc/self/ns/uts,
 * O_RDONLY); kmsg = open(/dev/kmsg, O_PATH) (a device no restore
 * opens for real).  With otherns, also otherns: an fd on a network
 * namespace no process is in (a child's, made and left), which a
 * restore cannot open again.
 * Prints "open NAME FD" for each, and remembers what fstat
 * said of each.  Check (SIGUSR1, SIGTERM): each fd has the same
 * device, inode and type, and its O_PATH as it was; through them:
 * openat(dir, "inside") works, readlinkat(link, "") says "f", the file
 * reopened through /proc/self/fd reads "bytes": "opath same=111111
 * path=111101 inside=1 target=f bytes=bytes" (otherns: one more of each). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "prog.h"

enum { FILE_, DIR_, LINK, NETNS, UTSNS, KMSG, OTHERNS, NMAX };
static const char *const names[NMAX] = { "file", "dir", "link", "netns", "utsns", "kmsg", "otherns" };
static int fds[NMAX], N = OTHERNS;
static struct stat was[NMAX];

/* an fd on a new network namespace that no process is in: a child's,
 * opened while it waits, then the child killed */
static int other_netns(void)
{
	char path[64], x = 0;
	int p[2], fd = -1;
	pid_t c;

	if (pipe(p) < 0 || (c = fork()) < 0)
		return -1;
	if (c == 0) {
		x = unshare(CLONE_NEWNET) == 0;
		if (write(p[1], &x, 1) == 1)
			pause();
		_exit(1);
	}
	if (read(p[0], &x, 1) == 1 && x) {
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)c);
		fd = open(path, O_RDONLY);
	}
	close(p[1]);
	close(p[0]);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	return fd;
}

static int verify(void)
{
	char same[NMAX + 1], opath[NMAX + 1], buf[64], proc[64];
	struct stat st;
	int i, fd, inside;
	ssize_t n;

	for (i = 0; i < N; i++) {
		same[i] = fstat(fds[i], &st) == 0 && st.st_dev == was[i].st_dev &&
			  st.st_ino == was[i].st_ino && st.st_mode == was[i].st_mode ? '1' : '0';
		opath[i] = fcntl(fds[i], F_GETFL) & O_PATH ? '1' : '0';
	}
	same[N] = opath[N] = 0;
	fd = openat(fds[DIR_], "inside", O_RDONLY);
	inside = fd >= 0;
	if (fd >= 0)
		close(fd);
	n = readlinkat(fds[LINK], "", buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("opath same=%s path=%s inside=%d target=%s bytes=", same, opath, inside, buf);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fds[FILE_]);
	fd = open(proc, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	put_bytes(buf, n > 0 ? n : 0);
	printf("\n");
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char p[4096];
	int i, fd;

	if (argc != 2 && argc != 3)
		return fprintf(stderr, "usage: fdf_opath DIR [otherns]\n"), 2;
	snprintf(p, sizeof p, "%s/f", argv[1]);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || write(fd, "bytes", 5) != 5)
		return printf("FAIL %s: %s\n", p, strerror(errno)), 1;
	close(fd);
	snprintf(p, sizeof p, "%s/d", argv[1]);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/d/inside", argv[1]);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof p, "%s/l", argv[1]);
	if (symlink("f", p) < 0)
		return printf("FAIL symlink: %s\n", strerror(errno)), 1;
	snprintf(p, sizeof p, "%s/f", argv[1]);
	fds[FILE_] = open(p, O_PATH);
	snprintf(p, sizeof p, "%s/d", argv[1]);
	fds[DIR_] = open(p, O_PATH | O_DIRECTORY);
	snprintf(p, sizeof p, "%s/l", argv[1]);
	fds[LINK] = open(p, O_PATH | O_NOFOLLOW);
	fds[NETNS] = open("/proc/self/ns/net", O_PATH);
	fds[UTSNS] = open("/proc/self/ns/uts", O_RDONLY);
	fds[KMSG] = open("/dev/kmsg", O_PATH);
	if (argc == 3) {
		fds[OTHERNS] = other_netns();
		N = NMAX;
	}
	for (i = 0; i < N; i++) {
		if (fds[i] < 0 || fstat(fds[i], &was[i]) < 0)
			return printf("FAIL open %s: %s\n", names[i], strerror(errno)), 1;
		printf("open %s %d\n", names[i], fds[i]);
	}
	return serve_verify("fdf_opath", verify);
}
