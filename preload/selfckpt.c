/* selfckpt.c - a checkpoint the program asks for itself (ckpt(3):
 * ckpt_checkpoint_file, ckpt_checkpoint_fd): the calling thread starts
 * ckpt-freeze on its own process, outside the job, and waits until the
 * image is whole, or until it finds itself restored from it.
 *
 * Who is who (doc/design.md, "A checkpoint the program asks for"):
 *   the caller   a thread of the program; libc up to the clone and
 *                after the wait, never in between
 *   the starter  its child for a moment (CLONE_VM, CLONE_VFORK): clones
 *                the waiter and exits, which orphans the waiter
 *   the waiter   an orphan (init's, not the program's): once the caller
 *                has reaped the starter, it runs ckpt-freeze as its
 *                own child and waits for its status, then says it
 *   the writer   the waiter's child for a moment (CLONE_VM, CLONE_VFORK)
 *                that becomes ckpt-freeze by execve
 * So no process of the job's tree is there when ckpt-freeze walks it.
 * The three clones share the program's memory and run on the static
 * stacks below while the program's threads may be frozen: rawsys.h
 * calls only, no libc, no errno, no TLS (they run with the caller's).
 * One request at a time: a second caller gets EBUSY at once. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../include/ckpt.h"
#include "shim.h"
#include "rawsys.h"

#define STACK (16 * 1024)
#define WCLONE 0x80000000   /* __WCLONE: a child whose exit signal is not SIGCHLD */

static char stacks[3][STACK] __attribute__((aligned(16)));  /* starter, waiter, writer */

static int busy;                 /* a request is under way */
/* the waiter's tid while it lives: the kernel writes it at the clone
 * (CLONE_PARENT_SETTID) and clears it, with a futex wake, when the
 * waiter exits (CLONE_CHILD_CLEARTID); a restore clears it too */
static int waiter_tid;
static long outcome;             /* 0 until said: CKPT_WRITTEN, CKPT_RESTORED or -errno */
static int go;                   /* the starter is reaped: the waiter may go on */
static long start_err, exec_err; /* the starter's clone, the writer's execve */
static int prog_pid;

/* what the writer runs, made by the caller */
static char freeze_path[PATH_MAX];
static char pid_str[24];
static char *writer_argv[4];
static char **writer_envp;
static char path_final[PATH_MAX], path_tmp[PATH_MAX + 32];
static int stream_fd;            /* the program's fd; -1: a file of ours */
static int writer_out;           /* the fd the writer makes its stdout */

static void wake(int *w)
{
	sys_futex(w, FUTEX_WAKE, INT_MAX, NULL);
}

/* fd onto to (to keeps no close-on-exec) */
static void fd_onto(int fd, int to)
{
	if (fd == to)
		sys_fcntl(to, F_SETFD, 0);
	else
		SC(SYS_dup3, fd, to, 0, 0, 0, 0);
}

/* The writer: stdout the stream, stdin /dev/null, stderr the
 * program's (ckpt-freeze says there why it failed), nothing else open;
 * default dispositions, nothing blocked; then ckpt-freeze */
static void writer_main(void *arg)
{
	struct { unsigned long handler, flags, restorer, mask; } dfl = { 0, 0, 0, 0 };
	uint64_t none = 0;
	long n;
	int s;

	(void)arg;
	fd_onto(writer_out, 1);
	n = sys_openat(AT_FDCWD, "/dev/null", O_RDWR, 0);
	if (n >= 0) {
		fd_onto(n, 0);
		if (writer_out == 2)   /* never messages into the stream */
			fd_onto(n, 2);
		if (n > 2)
			sys_close(n);
	}
	SC(SYS_close_range, 3, ~0U, 0, 0, 0, 0);
	for (s = 1; s <= 64; s++)
		sys_rt_sigaction(s, &dfl, NULL);
	sys_rt_sigprocmask(SIG_SETMASK, &none, NULL);
	exec_err = SC(SYS_execve, freeze_path, writer_argv, writer_envp, 0, 0, 0);
	sys_exit(127);
}

/* a file's stream goes to a new file beside it, renamed over it once
 * whole: a failed checkpoint leaves the last image there */
static long tmp_open(void)
{
	sys_unlinkat(AT_FDCWD, path_tmp, 0);   /* ours, left by a crash */
	return sys_openat(AT_FDCWD, path_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* ckpt-freeze, run and waited for: 0, or -errno */
static long writer_run(void)
{
	long fd = stream_fd < 0 ? tmp_open() : -1, w, r;
	int st = 0;

	if (stream_fd < 0 && fd < 0)
		return fd;
	writer_out = stream_fd < 0 ? fd : stream_fd;
	w = ckpt_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, stacks[2] + STACK, writer_main, NULL);
	r = w;
	if (w > 0) {
		while ((r = SC(SYS_wait4, w, &st, 0, 0, 0, 0)) == -EINTR)
			;
		r = exec_err ? exec_err : r < 0 ? r : WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
	}
	if (fd >= 0) {
		if (r == 0)   /* whole on disk before it replaces the last */
			r = SC(SYS_fdatasync, fd, 0, 0, 0, 0, 0);
		sys_close(fd);
		if (r == 0)
			r = sys_renameat2(AT_FDCWD, path_tmp, AT_FDCWD, path_final, 0);
		if (r < 0)
			sys_unlinkat(AT_FDCWD, path_tmp, 0);
	}
	return r;
}

/* The waiter: waits (until the caller has reaped the starter: a child
 * of the program, even a zombie, would be in the job), runs the
 * writer, says how it went, and exits, which clears waiter_tid and
 * wakes the caller.  A program that died meanwhile never says go. */
static void waiter_main(void *arg)
{
	struct timespec tick = { 0, 100 * 1000000L };
	long r;

	(void)arg;
	sys_prctl(15 /* PR_SET_NAME */, (uintptr_t)"ckpt-selfwait", 0, 0, 0);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
		if (sys_kill(prog_pid, 0) == -ESRCH)
			return;
		sys_futex(&go, FUTEX_WAIT, 0, &tick);
	}
	r = writer_run();
	__atomic_store_n(&outcome, r < 0 ? r : CKPT_WRITTEN, __ATOMIC_RELEASE);
}

/* The starter: the waiter, then exit.  Exit signal 0 for both: no
 * SIGCHLD the program did not ask for (the kernel gives the orphaned
 * waiter SIGCHLD for its new parent) */
static void starter_main(void *arg)
{
	long r;

	(void)arg;
	r = ckpt_clone_tid(CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
			   stacks[1] + STACK, waiter_main, NULL, &waiter_tid);
	if (r < 0)
		start_err = r;
}

/* the starter and the waiter cloned, the starter reaped: 0 or -errno.
 * Every signal blocked meanwhile, so no handler of the program runs
 * in a clone (they start with the caller's mask), and no freeze can
 * complete in between.  A process that is a child subreaper would
 * adopt the waiter when the starter exits: it is not one for that
 * moment, so the waiter goes to a subreaper above it, or init. */
static long helpers_start(void)
{
	uint64_t all = ~0ULL, old;
	int st, sub = 0;
	long h;

	waiter_tid = 0;
	outcome = start_err = exec_err = 0;
	go = 0;
	prog_pid = sys_getpid();
	sys_rt_sigprocmask(SIG_SETMASK, &all, &old);
	if (sys_prctl(PR_GET_CHILD_SUBREAPER, (uintptr_t)&sub, 0, 0, 0) == 0 && sub)
		sys_prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	h = ckpt_clone(CLONE_VM | CLONE_VFORK, stacks[0] + STACK, starter_main, NULL);
	if (h > 0)
		while (SC(SYS_wait4, h, &st, WCLONE, 0, 0, 0) == -EINTR)
			;
	if (sub)
		sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sys_rt_sigprocmask(SIG_SETMASK, &old, NULL);
	if (h < 0)
		return h;
	if (start_err)
		return start_err;
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	wake(&go);
	return 0;
}

/* Until the waiter has gone and the checkpoint's RESUME hooks have
 * run, or the process finds itself restored: what to return */
static long outcome_wait(void)
{
	long o;
	int t;

	for (;;) {
		if (__atomic_load_n(&outcome, __ATOMIC_ACQUIRE) == CKPT_RESTORED)
			return CKPT_RESTORED;
		if (!(t = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)))
			break;
		sys_futex(&waiter_tid, FUTEX_WAIT, t, NULL);
	}
	api_wait_resumed();
	o = __atomic_load_n(&outcome, __ATOMIC_ACQUIRE);
	return o ? o : -EIO;   /* the waiter was killed */
}

/* <the shim's directory>/../../bin/ckpt-freeze: the tools installed
 * with this shim (lib/ckpt/ beside bin/, in the build tree too), the
 * directory resolved for the message that may name it */
static long writer_find(void)
{
	char bin[PATH_MAX + 16], real[PATH_MAX];
	Dl_info info;
	const char *slash;

	if (!dladdr((void *)writer_find, &info) || !info.dli_fname ||
	    !(slash = strrchr(info.dli_fname, '/')))
		return -ENOENT;
	snprintf(bin, sizeof bin, "%.*s/../../bin", (int)(slash - info.dli_fname), info.dli_fname);
	if ((size_t)snprintf(freeze_path, sizeof freeze_path, "%s/ckpt-freeze",
			     realpath(bin, real) ? real : bin) >= sizeof freeze_path)
		return -ENAMETOOLONG;
	return 0;
}

/* the program's environment without LD_PRELOAD: ckpt-freeze runs
 * without the shim */
static long envp_make(void)
{
	extern char **environ;
	size_t n = 0, k = 0;

	while (environ && environ[n])
		n++;
	if (!(writer_envp = malloc((n + 1) * sizeof *writer_envp)))
		return -ENOMEM;
	for (n = 0; environ && environ[n]; n++)
		if (strncmp(environ[n], "LD_PRELOAD=", 11))
			writer_envp[k++] = environ[n];
	writer_envp[k] = NULL;
	return 0;
}

/* everything the clones need, made while libc may be used */
static long request_prepare(const char *path, int fd)
{
	long r = writer_find();

	stream_fd = path ? -1 : fd;
	if (r == 0 && path &&
	    ((size_t)snprintf(path_final, sizeof path_final, "%s", path) >= sizeof path_final ||
	     (size_t)snprintf(path_tmp, sizeof path_tmp, "%s.%d.tmp", path, (int)sys_getpid()) >=
		     sizeof path_tmp))
		r = -ENAMETOOLONG;
	snprintf(pid_str, sizeof pid_str, "%d", (int)sys_getpid());
	writer_argv[0] = "ckpt-freeze";
	writer_argv[1] = "-q";
	writer_argv[2] = pid_str;
	writer_argv[3] = NULL;
	return r < 0 ? r : envp_make();
}

/* what is wrong with the request itself, before anything starts */
static long request_check(const char *path, int fd, unsigned flags)
{
	long fl;

	if (flags || (!path && fd < 0))
		return -EINVAL;
	if (sys_gettid() == ckpt_ctl_tid)   /* a hook: the control thread would wait for itself */
		return -EDEADLK;
	if (ckpt_listen_fd < 0)
		return -ENOTCONN;
	if (!path && ((fl = sys_fcntl(fd, F_GETFL, 0)) < 0 || (fl & O_ACCMODE) == O_RDONLY))
		return -EBADF;
	return 0;
}

/* a writer that could not be run: the program's stderr says which */
static void say_no_writer(long err)
{
	char why[PATH_MAX + 128];

	snprintf(why, sizeof why, "%s: %s", freeze_path, strerror((int)-err));
	shim_log("cannot checkpoint itself: ", -1, why);
}

__attribute__((visibility("default")))
int ckpt_shim_checkpoint(const char *path, int fd, unsigned flags)
{
	long r = request_check(path, fd, flags);
	int idle = 0;

	if (r == 0 && !__atomic_compare_exchange_n(&busy, &idle, 1, 0, __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE))
		r = -EBUSY;
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	r = request_prepare(path, fd);
	if (r == 0)
		r = helpers_start();
	if (r == 0)
		r = outcome_wait();
	if (r < 0 && __atomic_load_n(&exec_err, __ATOMIC_RELAXED) == r)
		say_no_writer(r);
	free(writer_envp);
	writer_envp = NULL;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

/* the control thread, restored: a request under way ends here */
void selfckpt_restored(void)
{
	if (!__atomic_load_n(&busy, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&outcome, CKPT_RESTORED, __ATOMIC_RELEASE);
	/* no waiter here: what the image holds of it is stale */
	__atomic_store_n(&waiter_tid, 0, __ATOMIC_RELEASE);
	wake(&waiter_tid);
}

/* a forked child: the request is its parent's */
void selfckpt_forked(void)
{
	busy = 0;
	waiter_tid = 0;
	outcome = 0;
}
