/* nsjoin.c - a tool goes into the pid namespace of the job it works on
 * (nsjoin.h).  Only namespaces below ours: the job's status line says
 * how deep its pid is (NSpid: one field per level, ours first). */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "kproc.h"
#include "nsjoin.h"
#include "num.h"

static int done_fd = -1;

/* the last field of pid's NSpid line: its pid in its own namespace;
 * *levels how many there are */
static pid_t inner_pid(pid_t pid, int *levels)
{
	char path[64], *status;
	long id;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	*levels = 0;
	if (!(status = read_file(path, NULL)))
		return -1;
	id = status_inner_id(status, "NSpid", levels);
	free(status);
	return id > 0 ? (pid_t)id : -1;
}

static int ns_open(pid_t pid, const char *ns)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die("pid %d: %s:", (int)pid, path);
	return fd;
}

static int same_ns(int fd, const char *ours)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(ours, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* the job's user namespace, unless it is ours: only its owner goes in */
static void user_join(pid_t pid, int fd)
{
	uid_t owner;

	if (same_ns(fd, "/proc/self/ns/user"))
		return;
	if (getuid() == 0)
		die("pid %d: runs in a user namespace of its own (ckpt-thaw restored it as its "
		    "user): checkpoint it as that user; root does not enter a mount namespace "
		    "its user can change", (int)pid);
	if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 || owner != getuid())
		die("pid %d: its user namespace is not yours: refused", (int)pid);
	if (setns(fd, CLONE_NEWUSER) < 0)
		die("pid %d: enter its user namespace:", (int)pid);
}

/* the parent: the child's status is ours; a child the namespace's end
 * killed after the whole stream went out (--kill) succeeded.  _exit:
 * the child did the work, and a leak check at exit (ASan) cannot stop
 * the world from inside another user namespace */
static _Noreturn void wait_child(pid_t pid, pid_t child, int done)
{
	int st;
	char c;

	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR) {
			warn("pid %d: wait for the checkpoint in its namespace:", (int)pid);
			_exit(1);
		}
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	if (read(done, &c, 1) == 1)
		_exit(0);
	warn("pid %d: the checkpoint in its namespace died of signal %d", (int)pid,
	     WTERMSIG(st));
	_exit(1);
}

pid_t ns_follow(pid_t pid)
{
	int levels, user, mnt, pidns, cwd, p[2];
	pid_t inner = inner_pid(pid, &levels), child;

	if (levels <= 1)
		return pid;   /* ours (or gone: the caller says so) */
	user = ns_open(pid, "user");
	mnt = ns_open(pid, "mnt");
	pidns = ns_open(pid, "pid");
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("the working directory:");
	user_join(pid, user);
	if (setns(mnt, CLONE_NEWNS) < 0 || setns(pidns, CLONE_NEWPID) < 0)
		die("pid %d: enter its namespaces:", (int)pid);
	/* relative paths in the arguments stay where they were */
	if (fchdir(cwd) < 0)
		die("the working directory:");
	close(user), close(mnt), close(pidns), close(cwd);
	if (pipe2(p, O_CLOEXEC) < 0 || (child = fork()) < 0)
		die("pid %d: fork into its namespace:", (int)pid);
	if (child == 0) {
		close(p[0]);
		done_fd = p[1];
		return inner;
	}
	close(p[1]);
	wait_child(pid, child, p[0]);
}

void ns_stream_done(void)
{
	if (done_fd >= 0 && write(done_fd, "d", 1) != 1)
		warn("telling the stream is whole:");
}
