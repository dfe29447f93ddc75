/* shim.c - libckpt.so: the control socket of this process and the
 * thread that serves it; set up at load, after fork, after a restore.
 *
 * The constructor and the fork handler may use libc (no thread of the
 * program is frozen then).  control_loop and ckpt_control_restart run
 * while threads may be frozen or just restored: rawsys.h calls only. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"
#include "rawsys.h"
#include "sockdir.h"

/* the lowest number of the shim's fds, unless the soft RLIMIT_NOFILE
 * is under 1024 (high_fd_init) */
#define SHIM_FD_HOME (1024 - 32)

int ckpt_sig;
int ckpt_listen_fd = -1, ckpt_conn_fd = -1;
int ckpt_ctl_tid;
uint64_t ckpt_ctl_stack;
static char sock_dir[4096];
static char sock_name[SOCKDIR_NAME_MAX];  /* "<pid>.sock", "<pid>.<pidns>.sock" */
static const char *sock_why;  /* what is wrong with sock_dir */
static const char *sock_in = sock_dir;   /* where the socket is bound */
static struct sockaddr_un sock_addr;
static int sock_pid;          /* the pid sock_addr was made for */
static unsigned long job_ns;  /* the job's pid namespace ($CKPT_PIDNS) */
static uint64_t listen_ino;   /* to notice the program reusing our fd */
static int high_fd = SHIM_FD_HOME;  /* where the shim's fds go (high_fd_init) */
static int *main_tid_word;    /* the main thread's clear-tid word */

size_t fmt_ulong(char *out, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do
		tmp[n++] = '0' + v % 10;
	while (v /= 10);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* "ckpt-shim: pid P: <a><n><b>" on the program's stderr */
void shim_log(const char *a, long n, const char *b)
{
	static char buf[1024];
	size_t len = 0, k;

	memcpy(buf, "ckpt-shim: pid ", 15);
	len = 15 + fmt_ulong(buf + 15, sys_getpid());
	buf[len++] = ':';
	buf[len++] = ' ';
	k = strlen(a) < 200 ? strlen(a) : 200;
	memcpy(buf + len, a, k);
	len += k;
	if (n >= 0)
		len += fmt_ulong(buf + len, n);
	k = strlen(b) < 700 ? strlen(b) : 700;
	memcpy(buf + len, b, k);
	len += k;
	buf[len++] = '\n';
	sys_write(2, buf, len);
}

static uint64_t fd_ino(int fd)
{
	struct stat st;

	return sys_fstat(fd, &st) < 0 ? 0 : st.st_ino;
}

int fd_high(int fd)
{
	int hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, high_fd);

	if (hi < 0)
		return fd;
	sys_close(fd);
	return hi;
}

/* sock_addr = /proc/self/fd/<d>/<sock_name>: bind through the checked
 * directory's fd, never through its path again */
static void sock_addr_at(int d)
{
	static const char pfx[] = "/proc/self/fd/";
	size_t n = sizeof pfx - 1;

	sock_addr.sun_family = AF_UNIX;
	memcpy(sock_addr.sun_path, pfx, n);
	n += fmt_ulong(sock_addr.sun_path + n, d);
	sock_addr.sun_path[n++] = '/';
	memcpy(sock_addr.sun_path + n, sock_name, strlen(sock_name) + 1);
}

/* bind <pid>.sock (lib/sockdir.h) in dir, once it passed the checks
 * (sockdir.c), and sweep it of dead processes' sockets; 0 or -errno */
static int listen_in(const char *dir)
{
	int d = sockdir_open(dir, &sock_why), s;
	unsigned long ns;
	long r;

	if (d < 0)
		return d;
	sock_pid = sys_getpid();
	ns = sockdir_pidns();
	sockdir_name(sock_name, sock_pid, ns == job_ns ? 0 : ns);
	sock_addr_at(d);
	s = r = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		s = fd_high(s);
		/* a socket left by an earlier image of this pid (exec, a crash) */
		sys_unlinkat(d, sock_name, 0);
		r = sys_bind(s, &sock_addr, sizeof sock_addr);
		if (r == 0)
			r = sys_listen(s, 8);
		if (r < 0)
			sys_close(s);
	}
	if (r == 0) {
		ckpt_listen_fd = s;
		listen_ino = fd_ino(s);
		sockdir_sweep(d, sock_name, job_ns);
	}
	sys_close(d);
	return r < 0 ? r : 0;
}

/* In sock_dir; a process that may not reach it (a daemon that dropped
 * from root to its uid after ckpt-run set CKPT_SOCKDIR to root's
 * directory: forked, or restored with its ids) binds in /tmp/ckpt-<euid>
 * instead, made 0700 if missing, where the tools look next (lib/ctl.c:
 * another uid's default directory; XDG_RUNTIME_DIR is root's here).
 * Never for a directory refused by the rule. */
static int listen_open(void)
{
	static char own[32] = "/tmp/ckpt-";
	long r = listen_in(sock_dir), euid = sys_geteuid();

	sock_in = sock_dir;
	if (r != -EACCES || sock_why || euid == 0)
		return r;
	own[10 + fmt_ulong(own + 10, euid)] = 0;
	sys_mkdirat(AT_FDCWD, own, 0700);
	if ((r = listen_in(own)) == 0)
		sock_in = own;
	return r;
}

static void sock_remove(void)
{
	const char *why;
	int d;

	if (ckpt_listen_fd < 0 || sock_pid != sys_getpid())
		return;
	d = sockdir_open(sock_in, &why);
	if (d >= 0) {
		sys_unlinkat(d, sock_name, 0);
		sys_close(d);
	}
}

static void count_task(int tid, int dirfd, void *n)
{
	(void)tid;
	(void)dirfd;
	(*(int *)n)++;
}

/* Every thread of the program has ended, the main one first, but not
 * the process: under seccomp's strict mode a program may only end its
 * own thread (exit(2)).  Then this thread ends too, and the process
 * with the main thread's status.  The main thread's clear-tid word
 * turns 0 when it exits; only then are the tasks counted: the zombie
 * main thread and this one. */
static int program_gone(void)
{
	int n = 0;

	if (!main_tid_word || __atomic_load_n(main_tid_word, __ATOMIC_ACQUIRE))
		return 0;
	return procdir_each("/proc/self/task", count_task, &n) == 0 && n <= 2;
}

/* The main thread's exit status, from the last field of its stat (as
 * waitpid gives it): the kernel reports the last thread's, so this
 * thread ends with the main thread's */
static int main_exit_code(void)
{
	static char buf[1024];
	char path[64] = "/proc/self/task/";
	long n = 16, fd, len, code = 0;

	n += fmt_ulong(path + n, sys_getpid());
	memcpy(path + n, "/stat", 6);
	fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	len = fd < 0 ? 0 : sys_read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		sys_close(fd);
	while (len > 0 && (buf[len - 1] < '0' || buf[len - 1] > '9'))
		len--;
	for (n = len; n > 0 && buf[n - 1] >= '0' && buf[n - 1] <= '9'; n--)
		;
	for (; n < len; n++)
		code = code * 10 + (buf[n] - '0');
	return (code >> 8) & 0xff;
}

static void control_loop(void)
{
	struct { int fd; short events, revents; } p;
	int c, r;

	for (;;) {
		/* once a second, not more: a look at one word */
		p.fd = ckpt_listen_fd;
		p.events = 1; /* POLLIN */
		r = sys_poll(&p, 1, 1000);
		/* the program may have closed our fd (closefrom, a daemon's
		 * loop) or put one of its own at the number (dup2): never
		 * accept on its socket; and its fd may never be readable
		 * (a pipe's write end), so a quiet second looks too */
		if (fd_ino(ckpt_listen_fd) != listen_ino && listen_open() < 0)
			return;
		if (r == 0) {
			cow_reap();
			if (program_gone()) {
				sock_remove();
				sys_exit(main_exit_code());
			}
			continue;
		}
		c = sys_accept4(ckpt_listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			control_serve(fd_high(c));
		else if (c == -EBADF || c == -ENOTSOCK || c == -EINVAL)
			listen_ino = 0;  /* rebind on the next round */
		else if (c != -EINTR && c != -ECONNABORTED)
			/* EMFILE, ENFILE, ENOMEM: the client waits in the
			 * backlog; retrying at once would spin a CPU */
			sys_poll(NULL, 0, 100);
	}
}

static void *control_main(void *arg)
{
	(void)arg;
	ckpt_ctl_tid = sys_gettid();
	/* A restored control thread starts afresh below this frame.  Not
	 * at the top of the stack mapping: glibc keeps the thread's TCB and
	 * TLS there. */
	ckpt_ctl_stack = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)15;
	sys_prctl(15 /* PR_SET_NAME */, (uintptr_t)"ckpt-ctl", 0, 0, 0);
	control_loop();
	return NULL;
}

/* The restorer starts the control thread here (x86_64/park.S), with
 * the restorer's last page: every thread left the restorer through it.
 * Once all have resumed in their parks, nothing of the restorer is used
 * and the page goes. */
void ckpt_control_restart(void *tramp, unsigned long len)
{
	const struct ckpt_thread_rec *me = thread_rec(threads_count() - 1);

	if (me) {
		thread_redo(me);
		/* the restorer started us with every signal blocked */
		sys_rt_sigprocmask(SIG_SETMASK, &me->sigmask, NULL);
	}
	if (tramp && len == 4096 && restore_wait_resumed(5000) == 0)
		sys_munmap((uintptr_t)tramp, len);
	ckpt_ctl_tid = sys_gettid();
	freeze_reset();
	dirty_forget(0);
	ckpt_listen_fd = ckpt_conn_fd = -1;
	if (listen_open() == 0) {
		api_restored();   /* every thread runs again by now */
		control_loop();
	}
	shim_log("control socket lost after restore", -1, "");
	for (;;)
		sys_exit(0);
}

static int control_start(void)
{
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;
	int r;

	/* the control thread blocks every signal: it must never run the
	 * program's handlers, nor be frozen itself */
	sigfillset(&all);
	real_pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, control_main, NULL);
	pthread_attr_destroy(&a);
	real_pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/* The job's pid namespace, where the socket is PID.sock (lib/sockdir.h):
 * ckpt-run's, as it exported it; else (ckpt-attach, a program that
 * cleared its environment) the one the program started in.  A
 * restored process keeps its image's (this variable is its memory). */
static void job_ns_init(void)
{
	const char *env = getenv("CKPT_PIDNS");
	char *end;

	job_ns = env && *env ? strtoul(env, &end, 10) : 0;
	if (!job_ns || *end)
		job_ns = sockdir_pidns();
}

/* $CKPT_SOCKDIR or ${XDG_RUNTIME_DIR:-/tmp}/ckpt-<uid>, made 0700 if
 * missing; listen_open checks it is ours and 0700 before it binds */
static int sockdir_init(void)
{
	const char *env = getenv("CKPT_SOCKDIR"), *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(sock_dir, sizeof sock_dir, "%s", env);
	else
		n = snprintf(sock_dir, sizeof sock_dir, "%s/ckpt-%u",
			     rt && *rt ? rt : "/tmp", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof sock_dir)
		return -ENAMETOOLONG;
	if (mkdir(sock_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	job_ns_init();
	return 0;
}

static int signal_init(void)
{
	const char *env = getenv("CKPT_SIGNAL");
	struct sigaction sa;

	ckpt_sig = env && *env ? atoi(env) : CKPT_SIGNAL_DEFAULT;
	if (ckpt_sig < SIGRTMIN || ckpt_sig > SIGRTMAX)
		return -EINVAL;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = freeze_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	/* nothing of the program may run on a frozen thread */
	sigfillset(&sa.sa_mask);
	return real_sigaction(ckpt_sig, &sa, NULL) < 0 ? -errno : 0;
}

/* Where the shim's fds go: 32 under the soft RLIMIT_NOFILE, as most
 * systems set it (1024), and no higher when it is higher.  Above the
 * numbers a program picks itself (the lowest free, 3..N, the shells'
 * 10 and up, bash's 255 downwards, the flock idiom's 200), and inside
 * the fd table of 1024 that the kernel gives it then: the table's size,
 * not its fds, is what each /proc/PID/fd listing and each fork pays
 * for (a listing 4.5 us at 1024, 42 us at 32768 entries, where a soft
 * limit of 20000 put them).  A program that takes the number anyway
 * keeps it: the control thread notices and moves (control_loop). */
static void high_fd_init(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur >= 64 && rl.rlim_cur - 32 < (rlim_t)high_fd)
		high_fd = rl.rlim_cur - 32;
}

/* run by the main thread: glibc gave the kernel its tid word */
static void main_tid_init(void)
{
	unsigned long a = 0;

	main_tid_word = sys_prctl(40 /* PR_GET_TID_ADDRESS */, (uintptr_t)&a, 0, 0, 0) == 0 ? (int *)a : NULL;
}

/* fd, when it is a socket bound to the name "/proc/self/fd/D/<parent's sock_name>"
 * (a connection accepted on a listener has the listener's name):
 * the parent's listening socket or one of its connections */
static void close_if_parents(int fd, int dirfd, void *suffix)
{
	static const char pfx[] = "/proc/self/fd/";
	struct sockaddr_un sa;
	socklen_t len = sizeof sa;
	size_t n, k = strlen(suffix);
	struct stat st;

	if (fd == dirfd || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	memset(&sa, 0, sizeof sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX)
		return;
	n = strnlen(sa.sun_path, sizeof sa.sun_path);
	if (n > sizeof pfx - 1 + k && !memcmp(sa.sun_path, pfx, sizeof pfx - 1) &&
	    !strcmp(sa.sun_path + n - k, suffix))
		close(fd);
}

/* The parent's sockets are the parent's.  Found by name, never by
 * number: fork copies the fd table before the memory, and the parent's
 * control thread runs on meanwhile, so our copy of ckpt_conn_fd may
 * say -1 while the connection it had just accepted is in our table
 * (measured: 1 fork in 200 under back-to-back checkpoints kept one),
 * or name a number the parent has closed and the program reused.  A
 * kept connection would outlive the parent's end of it. */
static void parent_sockets_close(void)
{
	char suffix[SOCKDIR_NAME_MAX + 1] = "/";

	if (!sock_pid)
		return;
	memcpy(suffix + 1, sock_name, strlen(sock_name) + 1);
	procdir_each("/proc/self/fd", close_if_parents, suffix);
	ckpt_listen_fd = ckpt_conn_fd = -1;
}

static void child_after_fork(void)
{
	int r;

	main_tid_init();  /* the forking thread is the child's main one */
	parent_sockets_close();
	freeze_reset();
	dirty_forget(1);
	selfckpt_forked();
	r = listen_open();
	if (r == 0)
		r = control_start();
	if (r < 0)
		shim_log("no control socket after fork: error ", -r, "");
}

static const char *setup_step;

/* one line: what failed and why; the program runs on without the shim */
static void setup_fail(const char *step, int err)
{
	static char why[512];

	if (sock_why)
		snprintf(why, sizeof why, "socket directory %.300s: %s: not serving there",
			 sock_dir, sock_why);
	else
		snprintf(why, sizeof why, "%s%s%.300s: %s", step,
			 sock_dir[0] ? " in " : "", sock_dir, strerror(-err));
	shim_log("cannot be checkpointed: ", -1, why);
}

__attribute__((constructor))
static void shim_init(void)
{
	int r;

	sigwrap_init();
	high_fd_init();
	main_tid_init();
	setup_step = "freeze signal";
	r = signal_init();
	if (r == 0) {
		setup_step = "socket directory";
		r = sockdir_init();
	}
	if (r == 0) {
		setup_step = "control socket";
		r = listen_open();
	}
	if (r == 0) {
		setup_step = "control thread";
		r = control_start();
	}
	if (r < 0) {
		setup_fail(setup_step, r);
		return;
	}
	pthread_atfork(NULL, NULL, child_after_fork);
}

__attribute__((destructor))
static void shim_fini(void)
{
	sock_remove();
}
