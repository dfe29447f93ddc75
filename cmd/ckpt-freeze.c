/* ckpt-freeze - checkpoint a running process into a raw tar stream */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "err.h"
#include "freeze.h"
#include "imageout.h"
#include "io.h"
#include "kproc.h"
#include "memberout.h"
#include "rules.h"
#include "selfdir.h"
#include "tar.h"
#include "timers.h"

static const char usage[] =
	"ckpt-freeze [--kill] [--force] [--timeout MS] [--checkpoint-open-files] [--files-rules PATH] PID";

static const struct option options[] = {
	{ "kill", no_argument, NULL, 'k' },
	{ "force", no_argument, NULL, 'f' },
	{ "timeout", required_argument, NULL, 't' },
	{ "checkpoint-open-files", no_argument, NULL, 'a' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	int kill;
	int force;         /* checkpoint and kill even what a restore cannot bring back */
	unsigned timeout_ms;
	int all_files;
	const char *rules;
	pid_t pid;
};

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "kt:ar:h", options, NULL)) != -1) {
		switch (c) {
		case 'k': o->kill = 1; break;
		case 'f': o->force = 1; break;
		case 'a': o->all_files = 1; break;
		case 'r': o->rules = optarg; break;
		case 't':
			o->timeout_ms = num_arg(optarg, 1, 3600000, usage);
			break;
		case 'h':
			printf("usage: %s\n", usage);
			exit(0);
		default:
			usage_die(usage);
		}
	}
	if (optind != argc - 1)
		usage_die(usage);
	o->pid = pid_arg(argv[optind], usage);
}

static int manifest_fn(FILE *f, const void *src) { return manifest_write(f, src); }
static int core_fn(FILE *f, const void *src) { return core_write(f, src); }

/* The shim could not say its cwd (getcwd failed): ckpt-thaw could not
 * go back into it.  The kernel names it; -1. */
static int cwd_refused(pid_t pid)
{
	char path[64], cwd[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
	n = readlink(path, cwd, sizeof cwd - 1);
	cwd[n > 0 ? n : 0] = 0;
	if (n > 10 && !strcmp(cwd + n - 10, " (deleted)"))
		warn("pid %d: cwd %s: removed while the process was in it; a restore cannot go back into it",
		     (int)pid, cwd);
	else
		warn("pid %d: cwd %s: the process cannot name it (getcwd); a restore could not go back into it",
		     (int)pid, cwd);
	return -1;
}

/* the thread records, all of them, before any member is written: the
 * core needs the main thread's securebits */
struct threads {
	struct ckpt_thread_rec *v;
	unsigned n;
};

/* what the shim found in a thread that a restore could not bring
 * back: -1 after a message */
static int threads_refused(const struct threads *th, pid_t pid)
{
	unsigned i;

	for (i = 0; i < th->n; i++)
		if (th->v[i].flags & CKPT_THREAD_RSEQ_OWN)
			return warn("pid %d: thread %u has an rseq area of its own, not glibc's, which the "
				    "process cannot name: it cannot be restored; not checkpointed",
				    (int)pid, th->v[i].tid), -1;
	return 0;
}

static int threads_fetch(int sock, pid_t pid, struct threads *th)
{
	static struct ckpt_thread_rec recs[CKPT_MSG_MAX / sizeof(struct ckpt_thread_rec)];
	struct ctl_call c;
	unsigned k;
	int r;

	th->n = 0;
	do {
		memset(&c, 0, sizeof c);
		c.op = CKPT_OP_THREADS;
		c.arg = th->n;
		c.reply = recs;
		c.replen = sizeof recs;
		if ((r = ctl_call(sock, &c)) < 0) {
			warnerr(r, "pid %d: thread records:", (int)pid);
			return -1;
		}
		k = c.replen / sizeof *recs;
		if (th->n + k > CKPT_THREADS_MAX + 1 ||
		    !(th->v = realloc(th->v, (th->n + k + 1) * sizeof *th->v)))
			die("pid %d: thread records: too many", (int)pid);
		memcpy(th->v + th->n, recs, k * sizeof *recs);
		th->n += k;
	} while (c.rep.more && c.replen);
	return threads_refused(th, pid);
}

static uint32_t main_securebits(const struct threads *th, pid_t pid)
{
	unsigned i;

	for (i = 0; i < th->n; i++)
		if (th->v[i].tid == (uint32_t)pid)
			return th->v[i].securebits;
	return 0;
}

/* the manifest and the core, from the process record, its /proc as we
 * see it, and the shim's fds, once they are shown to be the process's */
static int write_core(struct tar_out *t, int sock, const struct kproc *k, const struct threads *th,
		      int kill)
{
	static struct ckpt_proc_rec rec;
	struct core_src src = { .rec = &rec, .pid = k->pid, .k = k, .kill = kill,
				.securebits = main_securebits(th, k->pid) };
	struct ctl_call c = { .op = CKPT_OP_PROC, .reply = &rec, .replen = sizeof rec,
			      .rfds = src.fds, .nrfds = CKPT_PROCFD_COUNT };
	char name[64];
	int r = ctl_call(sock, &c), i;
	pid_t pid = k->pid;

	if (r == -EACCES) {
		warn("pid %d: the process may not open its own memory (not dumpable: setuid, setcap or PR_SET_DUMPABLE 0)", (int)pid);
		return -1;
	}
	if (r < 0 || c.replen != sizeof rec || c.nrfds != CKPT_PROCFD_COUNT) {
		warnerr(r ? r : -EPROTO, "pid %d: process record:", (int)pid);
		return -1;
	}
	snprintf(name, sizeof name, "proc/%d/core", (int)pid);
	r = -1;
	if (rec.pid != (uint32_t)pid)
		warn("pid %d: the shim's record says pid %u", (int)pid, rec.pid);
	else if (kproc_same(k, src.fds[CKPT_PROCFD_STAT]) == 0)
		r = rec.cwd[0] ? 0 : cwd_refused(pid);
	if (r == 0)
		r = member_from(t, "ckpt/manifest", manifest_fn, &src);
	if (r == 0)
		r = member_from(t, name, core_fn, &src);
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		close(src.fds[i]);
	return r;
}

struct threads_arg {
	const struct kproc *k;
	const struct threads *th;
};

static int threads_fn(FILE *f, const void *argp)
{
	const struct threads_arg *a = argp;

	return threads_write(f, a->k, a->th->v, a->th->n);
}

static int write_threads(struct tar_out *t, const struct kproc *k, const struct threads *th)
{
	struct threads_arg a = { k, th };
	char name[64];

	snprintf(name, sizeof name, "proc/%d/threads", (int)k->pid);
	return member_from(t, name, threads_fn, &a);
}

static void stage_exec(const char *stage, int sock, uint64_t off, const struct opts *o)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], fd[16], offs[32], pid[16];
	const char *argv[12];
	int n = 0, r = self_dir(dir, sizeof dir);

	if (r < 0)
		dieerr(r, "/proc/self/exe:");
	snprintf(path, sizeof path, "%s/%s", dir, stage);
	/* the frozen connection, inherited across exec */
	sock = fcntl(sock, F_DUPFD, 3);
	snprintf(fd, sizeof fd, "%d", sock);
	snprintf(offs, sizeof offs, "%llu", (unsigned long long)off);
	snprintf(pid, sizeof pid, "%d", (int)o->pid);
	argv[n++] = stage;
	argv[n++] = "--control";
	argv[n++] = fd;
	argv[n++] = "--offset";
	argv[n++] = offs;
	if (!strcmp(stage, "ckpt-dumpfds") && o->all_files)
		argv[n++] = "--checkpoint-open-files";
	if (!strcmp(stage, "ckpt-dumpfds") && o->rules) {
		argv[n++] = "--files-rules";
		argv[n++] = o->rules;
	}
	/* --kill destroys the process: only for an image that brings it back */
	if (!strcmp(stage, "ckpt-dumpfds") && o->kill && !o->force)
		argv[n++] = "--restorable";
	argv[n++] = pid;
	argv[n] = NULL;
	execv(path, (char **)argv);
	die("%s:", path);
}

/* copy the stage's output to stdout: spliced, so pages move by
 * reference from the shim's vmsplice to our reader */
static int stage_copy(int from, struct tar_out *t)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = splice(from, NULL, t->fd, NULL, 1 << 20, SPLICE_F_MOVE);
		if (n < 0 && errno == EINVAL) {
			/* stdout cannot take a splice: copy */
			n = read(from, buf, sizeof buf);
			if (n > 0 && write_all(t->fd, buf, n) < 0)
				return -errno;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		tar_advance(t, n);
	}
}

static int run_stage(const char *stage, int sock, struct tar_out *t, const struct opts *o)
{
	int p[2], st, r;
	pid_t child;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe:");
	child = fork();
	if (child < 0)
		die("fork:");
	if (child == 0) {
		if (dup2(p[1], 1) < 0)
			die("dup2:");
		stage_exec(stage, sock, t->off, o);
	}
	close(p[1]);
	r = stage_copy(p[0], t);
	close(p[0]);
	if (r < 0) {
		warnerr(r, "stdout:");
		kill(child, SIGTERM);
	}
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid:");
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		if (WIFSIGNALED(st))
			warn("pid %d: %s killed by signal %d", (int)o->pid, stage, WTERMSIG(st));
		r = -1;
	}
	return r;
}

/* " C (comm)" for one child, appended to list */
static void child_name(char *list, size_t cap, long c)
{
	char path[64], *comm;
	size_t n = strlen(list), len;

	snprintf(path, sizeof path, "/proc/%ld/comm", c);
	comm = read_file(path, &len);
	if (comm && len && comm[len - 1] == '\n')
		comm[len - 1] = 0;
	if (n < cap)
		snprintf(list + n, cap - n, "%s%ld (%s)", n ? ", " : "", c, comm ? comm : "gone");
	free(comm);
}

/* The children of pid, from the kernel (every thread's children file),
 * into list; how many.  A restore brings back one process: the
 * children would be left behind, and the parent's wait() would fail. */
static int children_list(pid_t pid, char *list, size_t cap)
{
	char path[320], *text, *p, *end;
	struct dirent *de;
	DIR *d;
	int n = 0;
	long c;

	list[0] = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;  /* gone: the freeze says so */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, de->d_name);
		if (!(text = read_file(path, NULL)))
			continue;
		for (p = text; (c = strtol(p, &end, 10)) > 0 && end != p; p = end, n++)
			child_name(list, cap, c);
		free(text);
	}
	closedir(d);
	return n;
}

static int children_check(const struct opts *o)
{
	char list[1024];
	int n = children_list(o->pid, list, sizeof list);

	if (!n || o->force)
		return 0;
	warn("pid %d: has %d child process%s: %s; a restore brings back this process alone (--force: leave them out)",
	     (int)o->pid, n, n > 1 ? "es" : "", list);
	return -1;
}

/* after SIGKILL: the pid must be free for a thaw that follows at once */
static void wait_gone(pid_t pid)
{
	struct timespec ts = { 0, 5000000 };
	char path[32];
	int i;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	for (i = 0; i < 1000 && access(path, F_OK) == 0; i++)
		nanosleep(&ts, NULL);
	if (access(path, F_OK) == 0)
		warn("pid %d: killed, but not yet reaped by its parent", (int)pid);
}

static int finish(int sock, struct tar_out *t, const struct opts *o)
{
	int r;

	if (stream_out_end(t) < 0)
		return -1;
	if (!o->kill)
		return freeze_thaw(sock, o->pid);
	/* killed while still frozen: it never runs past the checkpoint */
	r = ctl_simple(sock, CKPT_OP_KILL, 0, NULL);
	close(sock);
	if (r < 0 && kill(o->pid, SIGKILL) < 0 && errno != ESRCH) {
		warn("pid %d: kill:", (int)o->pid);
		return -1;
	}
	wait_gone(o->pid);
	return 0;
}

/* the stream, on a frozen connection: 0, or -1 after a message
 * (closing the connection then thaws the process) */
static int checkpoint(int sock, const struct opts *o)
{
	struct threads th = { NULL, 0 };
	struct kproc k;
	struct tar_out t;
	int r = -1;

	/* what the kernel says of it, and what cannot be restored, before
	 * anything is written */
	if (kproc_open(&k, o->pid, sock) < 0)
		return -1;
	if (kproc_no_seccomp(&k) == 0 && kproc_no_aio(&k) == 0 && threads_fetch(sock, o->pid, &th) == 0) {
		tar_init(&t, 1, 0);
		/* frozen: no child can come now */
		if (children_check(o) == 0 && write_core(&t, sock, &k, &th, o->kill) == 0 &&
		    write_threads(&t, &k, &th) == 0 && timers_dump(&t, sock, o->pid) == 0 &&
		    run_stage("ckpt-dumpfds", sock, &t, o) == 0 &&
		    run_stage("ckpt-dumpmem", sock, &t, o) == 0)
			r = finish(sock, &t, o);
	}
	free(th.v);
	kproc_close(&k);
	return r;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int sock;

	prog_init(argv);
	parse(argc, argv, &o);
	stdout_check();
	/* a bad rules file is found before the process is touched */
	if (rules_check(o.rules) < 0)
		return 1;
	sock = freeze_open(o.pid, o.timeout_ms);
	if (sock < 0)
		return 1;
	if (checkpoint(sock, &o) == 0)
		return 0;
	/* closing the connection thaws the process */
	if (o.kill)
		warn("pid %d: not killed: it runs on", (int)o.pid);
	return 1;
}
