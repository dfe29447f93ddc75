/* selfckpt - a program that asks for its own checkpoint through
 * include/ckpt.h: ckpt_checkpoint_file or ckpt_checkpoint_fd, from its
 * main thread, with two hooks as t/progs/apihooks.c has them.
 *
 * usage: selfckpt -f PATH [-b] [-s] | -d FD
 *
 * Prints "running 0|1", "pid P", "ready selfckpt", then "tick N" every
 * 10 ms.  SIGUSR2: (once ckpt_running() says 1: "running 1" and the
 * hooks, if not added yet) the checkpoint, then "checkpoint written
 * tick=N", "checkpoint restored tick=N" or "checkpoint failed
 * errno=NAME tick=N" (N: the tick it was asked at); with -d, "fd FD
 * pipe" (or "other") when it returns 1 or 2, and FD is closed.  -b: at each CHECKPOINT hook 1 has a second thread
 * ask for one too ("second r=R errno=NAME") and hook 2 asks itself
 * ("from a hook r=R errno=NAME").  -s: a child subreaper
 * (PR_SET_CHILD_SUBREAPER), which it says after each checkpoint
 * ("subreaper 1").  SIGHUP: a child without the shim
 * ("unshimmed child C": a sleep, which ckpt-freeze refuses in the job;
 * "child gone" once it is reaped).  SIGUSR1: "verify ok ticks=N
 * hooks=K"; SIGTERM: the same as "done ok", exit 0.  Hook lines:
 * "hook N EVENT tid=T handler=H" (H: 1 on a signal stack); a hook on
 * the main thread: "FAIL ...". */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../../include/ckpt.h"
#include "prog.h"

static const char *path;
static int fd = -1, busy_test, hooked, subreaper;
static int to_second[2], from_second[2];
static volatile sig_atomic_t want_ckpt, want_child;
static pid_t child;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int nlines;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pthread_mutex_lock(&lock);
	vprintf(fmt, ap);
	fflush(stdout);
	pthread_mutex_unlock(&lock);
	va_end(ap);
}

static int ask(void)
{
	return path ? ckpt_checkpoint_file(path, 0) : ckpt_checkpoint_fd(fd, 0);
}

static const char *errname(int r)
{
	return r < 0 ? strerrorname_np(errno) : "0";
}

/* -b: the second thread asks while the first's checkpoint is under way */
static void *second_main(void *arg)
{
	char c;
	int r;

	(void)arg;
	while (read(to_second[0], &c, 1) == 1) {
		r = ask();
		say("second r=%d errno=%s\n", r, errname(r));
		if (write(from_second[1], "", 1) != 1)
			return NULL;
	}
	return NULL;
}

static void hook(enum ckpt_event ev, void *arg)
{
	static const char *names[] = { "?", "checkpoint", "resume", "restore" };
	int n = *(int *)arg, r;
	stack_t ss;
	char c;

	pthread_mutex_lock(&lock);
	sigaltstack(NULL, &ss);
	if (syscall(SYS_gettid) == getpid())
		printf("FAIL hook %d ran on the main thread\n", n);
	printf("hook %d %s tid=%ld handler=%d\n", n, names[ev <= 3 ? ev : 0],
	       (long)syscall(SYS_gettid), !!(ss.ss_flags & SS_ONSTACK));
	nlines++;
	fflush(stdout);
	pthread_mutex_unlock(&lock);
	if (!busy_test || ev != CKPT_EVENT_CHECKPOINT)
		return;
	if (n == 1 && (write(to_second[1], "", 1) != 1 || read(from_second[0], &c, 1) != 1))
		say("FAIL second thread: errno %d\n", errno);
	if (n == 2) {
		r = ask();
		say("from a hook r=%d errno=%s\n", r, errname(r));
	}
}

static void hooks_add(void)
{
	static int one = 1, two = 2;

	if (hooked || !ckpt_running())
		return;
	printf("running 1\n");
	if (ckpt_hook(hook, &one) < 0 || ckpt_hook(hook, &two) < 0)
		printf("FAIL ckpt_hook\n");
	hooked = 1;
}

/* SIGUSR2: a checkpoint; SIGHUP: a child */
static void on_request(int sig)
{
	*(sig == SIGUSR2 ? &want_ckpt : &want_child) = 1;
}

/* a sleep without the shim, as our child; reaped once it ends */
static void child_start(void)
{
	want_child = 0;
	child = fork();
	if (child == 0) {
		unsetenv("LD_PRELOAD");
		execlp("sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	say("unshimmed child %d\n", (int)child);
}

static void child_reap(void)
{
	if (child > 0 && waitpid(child, NULL, WNOHANG) == child) {
		child = 0;
		say("child gone\n");
	}
}

/* -d: what FD is now, "fd N pipe" (or "fd N other") */
static void fd_say(void)
{
	struct stat st;

	say("fd %d %s\n", fd, fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) ? "pipe" : "other");
}

static void checkpoint(unsigned long tick)
{
	int r;

	want_ckpt = 0;
	hooks_add();
	r = ask();
	if (fd >= 0 && r > 0)
		fd_say();
	if (subreaper && prctl(PR_GET_CHILD_SUBREAPER, &subreaper) == 0)
		say("subreaper %d\n", subreaper);
	if (fd >= 0)
		close(fd);
	say("checkpoint %s%s%s tick=%lu\n",
	    r == CKPT_WRITTEN ? "written" : r == CKPT_RESTORED ? "restored" : "failed",
	    r < 0 ? " errno=" : "", r < 0 ? errname(r) : "", tick);
}

static void args(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "f:d:bs")) != -1) {
		if (c == 'f')
			path = optarg;
		else if (c == 'd')
			fd = atoi(optarg);
		else if (c == 'b')
			busy_test = 1;
		else if (c == 's')
			subreaper = 1;
		else
			goto bad;
	}
	if (optind == argc && !path != (fd < 0))
		return;
bad:
	fprintf(stderr, "usage: selfckpt -f PATH [-b] | -d FD\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long ticks = 0;
	pthread_t t;

	args(argc, argv);
	if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return printf("FAIL PR_SET_CHILD_SUBREAPER\n"), 1;
	if (!ckpt_running())
		printf("running 0\n");
	hooks_add();
	if (busy_test && (pipe(to_second) < 0 || pipe(from_second) < 0 ||
			  pthread_create(&t, NULL, second_main, NULL)))
		return printf("FAIL second thread\n"), 1;
	printf("pid %d\nready selfckpt\n", (int)getpid());
	fflush(stdout);
	signals_init();
	signal(SIGUSR2, on_request);
	signal(SIGHUP, on_request);
	for (;;) {
		if (want_child)
			child_start();
		child_reap();
		if (want_ckpt)
			checkpoint(ticks);
		if (want_verify || want_exit) {
			pthread_mutex_lock(&lock);
			printf("%s ok ticks=%lu hooks=%d\n", want_exit ? "done" : "verify", ticks, nlines);
			fflush(stdout);
			pthread_mutex_unlock(&lock);
			if (want_exit)
				return 0;
			want_verify = 0;
		}
		printf("tick %lu\n", ++ticks);
		fflush(stdout);
		nap_ms(10);
	}
}
