/* ckpt-freeze - checkpoint a running job (a process and every
 * descendant) into a raw tar stream */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cow.h"
#include "cowguess.h"
#include "ctl.h"
#include "dirty.h"
#include "err.h"
#include "progress.h"
#include "ptyjob.h"
#include "nsjoin.h"
#include "fdshare.h"
#include "freeze.h"
#include "imageout.h"
#include "indexload.h"
#include "io.h"
#include "job.h"
#include "jobshm.h"
#include "sockjob.h"
#include "kproc.h"
#include "procrec.h"
#include "rseqpeek.h"
#include "memberout.h"
#include "rules.h"
#include "tar.h"
#include "tcprepair.h"
#include "tcpkeep.h"
#include "timers.h"
#include "timing.h"

static const char usage[] =
	"ckpt-freeze [--progress|-q] [--single] [--kill|--cow] [--stats] [--force] [--timeout MS] [--verbose] [--checkpoint-open-files] [--files-rules PATH] [--parent FILE] [--index-out FILE] [--tcp-established [--tcp-keep SECONDS]] PID";

/* --progress, -q (lib/progress.h) */
static enum progress_mode progress_mode = PROGRESS_AUTO;

static const struct option options[] = {
	{ "kill", no_argument, NULL, 'k' },
	{ "force", no_argument, NULL, 'f' },
	{ "single", no_argument, NULL, 's' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "timeout", required_argument, NULL, 't' },
	{ "checkpoint-open-files", no_argument, NULL, 'a' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "parent", required_argument, NULL, 'p' },
	{ "index-out", required_argument, NULL, 'x' },
	{ "progress", no_argument, NULL, 'P' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "cow", no_argument, NULL, 'C' },
	{ "stats", no_argument, NULL, 'S' },
	{ "tcp-established", no_argument, NULL, 'E' },
	{ "tcp-keep", required_argument, NULL, 'K' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	int kill;
	int force;         /* checkpoint and kill even what a restore cannot bring back */
	int single;        /* PID alone, not its descendants */
	int verbose;       /* the job's size and freeze time on stderr */
	unsigned timeout_ms;
	int all_files;
	const char *rules;
	pid_t pid;
	int shm_table;     /* what each dumpmem stored of shared memory, for
	                    * the ones after it (ckpt-dumpmem --shm-table) */
	int cow;           /* thaw once every process has its snapshot */
	int stats;         /* how long the job was frozen, on stderr */
	int cow_fd;        /* the next ckpt-dumpmem's end of its --cow
	                    * channel (-1: none), and --cow-child */
	int cow_child;
	int guess_fd;      /* the next ckpt-dumpmem's --smaps-guess, or -1 */
	struct cow_guesses *guesses;  /* --cow: smaps read before the freeze
	                    * (lib/cowguess.h) */
	int offset_fd;     /* the next ckpt-dumpmem's --offset-fd and --after,
	                    * (-1: none), and our end of the first, which */
	int after_fd;      /* the stage must not keep */
	int turn_fd;
	const char *parent_path;   /* --parent FILE */
	struct parent parent;      /* its id and pages (ckpt-dumpmem --parent-index) */
	const char *index_path;    /* --index-out FILE */
	char index_tmp[4200];      /* written here, renamed once the stream is whole */
	int index_fd;              /* ckpt-dumpmem --index-out, or -1 */
	char id[33];               /* this image's */
	struct timespec time;
	int tcp_established;       /* connections to outside saved whole */
	unsigned tcp_keep;         /* --tcp-keep: the keeper's seconds, 0: unset */
	char *tcp_pids;            /* the job's pids, for ckpt-dumpfds */
	int tcp_chan[2];           /* its repaired sockets come back on [0] */
};

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "kt:ar:hsvq", options, NULL)) != -1) {
		switch (c) {
		case 'k': o->kill = 1; break;
		case 'f': o->force = 1; break;
		case 's': o->single = 1; break;
		case 'v': o->verbose = 1; break;
		case 'a': o->all_files = 1; break;
		case 'r': o->rules = optarg; break;
		case 'p': o->parent_path = optarg; break;
		case 'x': o->index_path = optarg; break;
		case 't':
			o->timeout_ms = num_arg(optarg, 1, 3600000, usage);
			break;
		case 'P': progress_mode = PROGRESS_ON; break;
		case 'q': progress_mode = PROGRESS_OFF; break;
		case 'C': o->cow = 1; break;
		case 'S': o->stats = 1; break;
		case 'E': o->tcp_established = 1; break;
		case 'K': o->tcp_keep = num_arg(optarg, 1, TCPKEEP_SECONDS_MAX, usage); break;
		case 'h':
			printf("usage: %s\n", usage);
			exit(0);
		default:
			usage_die(usage);
		}
	}
	if (optind != argc - 1)
		usage_die(usage);
	if (o->cow && o->kill) {
		/* the job would run on past the image before it is killed */
		warn("--cow and --kill: --cow thaws the job before its dump ends");
		usage_die(usage);
	}
	if (o->tcp_keep && !(o->tcp_established && o->kill)) {
		/* only a killed job's connections are kept */
		warn("--tcp-keep: only with --tcp-established and --kill");
		usage_die(usage);
	}
	o->pid = pid_arg(argv[optind], usage);
}

/* the manifest: its head, then the job's processes in stream order */
struct manifest_arg {
	const struct core_src *src;
	const struct job *job;
};

static int manifest_fn(FILE *f, const void *argp)
{
	const struct manifest_arg *a = argp;
	unsigned i;

	if (manifest_write(f, a->src) < 0)
		return -1;
	for (i = 0; i < a->job->n; i++) {
		const struct job_proc *p = &a->job->v[i];

		if (p->zombie)
			fprintf(f, "zombie %d %d %d %d %d\n", (int)p->pid, (int)p->ppid,
				(int)p->pgid, (int)p->sid, p->status);
		else
			fprintf(f, "proc %d %d %d %d\n", (int)p->pid, (int)p->ppid,
				(int)p->pgid, (int)p->sid);
	}
	return ptyjob_ctty_write(f, a->job) < 0 ? -1 : job_socks_out_write(f);
}

/* the manifest, then what the job's processes share of memory
 * (ckpt/shm, formats/memory.md), when they share any */
static int write_manifest(struct tar_out *t, const struct job *j, const struct jobshm *shm,
			  const struct opts *o)
{
	struct core_src src = { .pid = o->pid, .kill = o->kill, .id = o->id, .time = o->time,
				.parent = o->parent_path ? o->parent.id : NULL };
	struct manifest_arg a = { &src, j };
	struct tar_out it;

	if (member_from(t, "ckpt/manifest", manifest_fn, &a) < 0)
		return -1;
	/* the index file: the same manifest, then each index member */
	tar_init(&it, o->index_fd, 0);
	if (o->index_fd >= 0 && member_from(&it, "ckpt/manifest", manifest_fn, &a) < 0)
		return -1;
	return shm->n ? member_from(t, "ckpt/shm", jobshm_write, shm) : 0;
}
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

/* A thread with an rseq area of its own, not glibc's: the shim cannot
 * name it, the kernel can (lib/rseqpeek.c); its record gets the
 * kernel's.  0, or -1 after a message */
static int threads_rseq_own(struct threads *th, pid_t pid)
{
	struct ckpt_thread_rec *t;
	unsigned i;

	for (i = 0; i < th->n; i++) {
		t = &th->v[i];
		if ((t->flags & CKPT_THREAD_RSEQ_OWN) &&
		    rseqpeek(pid, t->tid, &t->rseq_addr, &t->rseq_len, &t->rseq_sig) < 0)
			return -1;
	}
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
	return threads_rseq_own(th, pid);
}

static uint32_t main_securebits(const struct threads *th, pid_t pid)
{
	unsigned i;

	for (i = 0; i < th->n; i++)
		if (th->v[i].tid == (uint32_t)pid)
			return th->v[i].securebits;
	return 0;
}

/* the core, from the process record, its /proc as we see it, and the
 * shim's fds, once they are shown to be the process's */
/* The shim's process record and its fds (memory, maps, stat, ...), and
 * that they are the process's and a restore can use them: 0, or -1
 * after a message, fds closed */
static int core_fetch(int sock, const struct kproc *k, struct ckpt_proc_rec *rec,
		      int fds[CKPT_PROCFD_COUNT])
{
	int r, i;
	pid_t pid = k->pid;

	if (procrec_fetch(sock, k, rec, fds) < 0)
		return -1;
	r = -1;
	if (rec->pid != (uint32_t)pid)
		warn("pid %d: the shim's record says pid %u", (int)pid, rec->pid);
	else if (kproc_same(k, fds[CKPT_PROCFD_STAT]) == 0)
		r = rec->cwd[0] ? 0 : cwd_refused(pid);
	if (r < 0)
		for (i = 0; i < CKPT_PROCFD_COUNT; i++)
			close(fds[i]);
	return r;
}

/* what core_fetch refuses, for each process before anything is written */
static int core_check(int sock, const struct kproc *k)
{
	static struct ckpt_proc_rec rec;
	int fds[CKPT_PROCFD_COUNT], i;

	if (core_fetch(sock, k, &rec, fds) < 0)
		return -1;
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		close(fds[i]);
	return 0;
}

static int write_core(struct tar_out *t, int sock, const struct kproc *k, const struct threads *th,
		      int kill)
{
	static struct ckpt_proc_rec rec;
	struct core_src src = { .rec = &rec, .pid = k->pid, .k = k, .kill = kill,
				.securebits = main_securebits(th, k->pid) };
	char name[64];
	int r, i;

	if (core_fetch(sock, k, &rec, src.fds) < 0)
		return -1;
	snprintf(name, sizeof name, "proc/%d/core", (int)k->pid);
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

/* The stages, linked in (Makefile STAGES: each command's main renamed)
 * and run in a forked child as if exec'd, with the same arguments: a
 * job of 50 paid 100 execs and their dynamic linking before.  Each
 * stays a command of its own. */
int ckpt_dumpfds_main(int argc, char **argv);
int ckpt_dumpmem_main(int argc, char **argv);

/* A ckpt-dumpmem started before its turn (--offset-fd), or holding a
 * snapshot (--cow, whose channel gives the offset), writes into our
 * stdout itself: no splice through us, a hop that was half of a job's
 * dump's CPU (and 25 ms a GiB of a --cow dump) */
static int stage_direct(const char *stage, const struct opts *o)
{
	return strcmp(stage, "ckpt-dumpfds") && (o->offset_fd >= 0 || o->cow_fd >= 0);
}

/* in the child, stdout the pipe to us, or, for a stage_direct one, our
 * stdout and end_fd that pipe: the stage's argv, then its main; what
 * it returns is the child's exit status */
static _Noreturn void stage_run(const char *stage, int sock, uint64_t off, pid_t target,
				int table, int end_fd, const struct opts *o)
{
	char ctl[16], fd[16], offs[32], aft[16], pid[16], tab[16], shm[16], par[16], iout[16], cow[16], pwait[16],
	     hand[16], guess[16];
	const char *argv[36];
	int n = 0, dumpfds = !strcmp(stage, "ckpt-dumpfds");

	snprintf(ctl, sizeof ctl, "%d", sock);
	snprintf(fd, sizeof fd, "%d", end_fd);
	snprintf(offs, sizeof offs, "%llu", (unsigned long long)off);
	snprintf(pid, sizeof pid, "%d", (int)target);
	argv[n++] = stage;
	argv[n++] = "--control";
	argv[n++] = ctl;
	if (!dumpfds && o->offset_fd >= 0) {   /* started before its turn */
		snprintf(offs, sizeof offs, "%d", o->offset_fd);
		argv[n++] = "--offset-fd";
		argv[n++] = offs;
		snprintf(aft, sizeof aft, "%d", o->after_fd);
		argv[n++] = "--after";
		argv[n++] = aft;
	} else {
		argv[n++] = "--offset";
		argv[n++] = offs;
	}
	if (stage_direct(stage, o)) {
		argv[n++] = "--end-fd";
		argv[n++] = fd;   /* our end of the stage's pipe: see stage_start */
	}
	if (dumpfds && table >= 0) {
		/* the fds of the processes before it */
		snprintf(tab, sizeof tab, "%d", table);
		argv[n++] = "--shared-table";
		argv[n++] = tab;
	}
	if (!dumpfds) {
		snprintf(shm, sizeof shm, "%d", o->shm_table);
		argv[n++] = "--shm-table";
		argv[n++] = shm;
	}
	if (!dumpfds && o->parent_path) {
		snprintf(par, sizeof par, "%d", o->parent.table);
		argv[n++] = "--parent-index";
		argv[n++] = par;
		/* equal to a process's dirty epoch: its unwritten pages unread */
		argv[n++] = "--parent-id";
		argv[n++] = o->parent.id;
		if (o->parent.ready >= 0) {   /* loaded meanwhile (indexload.h) */
			snprintf(pwait, sizeof pwait, "%d", o->parent.ready);
			argv[n++] = "--parent-wait";
			argv[n++] = pwait;
		}
	}
	if (!dumpfds) {   /* the one a late dirty epoch may name (--cow) */
		argv[n++] = "--image-id";
		argv[n++] = o->id;
	}
	if (!dumpfds && o->index_fd >= 0) {
		snprintf(iout, sizeof iout, "%d", o->index_fd);
		argv[n++] = "--index-out";
		argv[n++] = iout;
	}
	if (!dumpfds && o->cow_fd >= 0) {
		snprintf(cow, sizeof cow, "%d", o->cow_fd);
		argv[n++] = "--cow";
		argv[n++] = cow;
		if (o->cow_child)
			argv[n++] = "--cow-child";
		if (o->guess_fd >= 0) {
			snprintf(guess, sizeof guess, "%d", o->guess_fd);
			argv[n++] = "--smaps-guess";
			argv[n++] = guess;
		}
	}
	if (dumpfds && o->tcp_established) {
		snprintf(hand, sizeof hand, "%d", o->tcp_chan[1]);
		argv[n++] = "--tcp-established";
		argv[n++] = o->tcp_pids;
		argv[n++] = "--tcp-hand";
		argv[n++] = hand;
	}
	if (dumpfds && o->all_files)
		argv[n++] = "--checkpoint-open-files";
	if (dumpfds && o->rules) {
		argv[n++] = "--files-rules";
		argv[n++] = o->rules;
	}
	/* --kill destroys the process: only for an image that brings it back */
	if (dumpfds && o->kill && !o->force)
		argv[n++] = "--restorable";
	argv[n++] = pid;
	argv[n] = NULL;
	optind = 0;   /* getopt starts again, as in a new program */
	n = (dumpfds ? ckpt_dumpfds_main : ckpt_dumpmem_main)(n, (char **)argv);
	/* _exit: a sanitized build's leak check at exit would scan all of
	 * our heap in every child (30 s for a job of 200 under load) */
	fflush(NULL);
	_exit(n);
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

/* a stage running on one process, its stdout a pipe to us; or, for a
 * stage_direct ckpt-dumpmem, our stdout, and the pipe its --end-fd: it
 * writes its pages into the stream itself, and says there where its
 * output ended */
struct stage {
	const char *name;
	pid_t pid;          /* the process it dumps */
	pid_t child;        /* 0: none */
	int out;            /* the read end of its stdout */
};

/* the stage NAME on process p, its output to start at off in the
 * stream: 0, or -1 after a message */
static int stage_start(struct stage *s, const char *name, const struct job_proc *p, uint64_t off,
		       int table, const struct opts *o)
{
	int fds[2];

	pid_t us = getpid();

	*s = (struct stage){ name, p->pid, 0, -1 };
	if (pipe2(fds, O_CLOEXEC) < 0)
		return warn("pid %d: %s: pipe:", (int)p->pid, name), -1;
	fflush(NULL);   /* nothing of ours buffered twice */
	if ((s->child = fork()) < 0) {
		warn("pid %d: %s: fork:", (int)p->pid, name);
		s->child = 0;
		close(fds[0]), close(fds[1]);
		return -1;
	}
	if (s->child == 0) {
		/* it holds the process's connection, and a ckpt-dumpmem
		 * writes into our stdout, whose reader may stay: it must not
		 * keep the process frozen once we are killed */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != us)
			_exit(1);
		close(fds[0]);
		if (!stage_direct(name, o) && dup2(fds[1], 1) < 0)
			die("dup2:");
		if (!stage_direct(name, o))
			close(fds[1]);
		if (o->turn_fd >= 0)   /* its --offset-fd must end with us */
			close(o->turn_fd);
		stage_run(name, p->sock, off, p->pid, table, fds[1], o);
	}
	close(fds[1]);
	s->out = fds[0];
	return 0;
}

static int stage_reap(struct stage *s)
{
	int st;

	close(s->out);
	while (waitpid(s->child, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid:");
	s->child = 0;
	return st;
}

/* its output copied to the stream, then its end: 0, or -1 after a
 * message (the stage's own, or how it died) */
static int stage_finish(struct stage *s, struct tar_out *t)
{
	int r = stage_copy(s->out, t), st;

	if (r < 0) {
		warnerr(r, "stdout:");
		kill(s->child, SIGTERM);
	}
	st = stage_reap(s);
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		if (WIFSIGNALED(st))
			warn("pid %d: %s killed by signal %d", (int)s->pid, s->name, WTERMSIG(st));
		r = -1;
	}
	return r;
}

/* a stage that wrote into the stream itself (ckpt-dumpmem --end-fd):
 * where its output ended, then its end: 0, or -1 after a message (the
 * stage's own, or how it died) */
static int stage_end(struct stage *s, struct tar_out *t)
{
	uint64_t end = 0;
	ssize_t n = read_all(s->out, &end, sizeof end);
	int st = stage_reap(s);

	if (WIFSIGNALED(st))
		warn("pid %d: %s killed by signal %d", (int)s->pid, s->name, WTERMSIG(st));
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return -1;
	if (n != sizeof end || end < t->off || end % 512) {
		warn("pid %d: %s: no end offset (%zd bytes, %llu after %llu)", (int)s->pid, s->name,
		     n, (unsigned long long)end, (unsigned long long)t->off);
		return -1;
	}
	tar_advance(t, end - t->off);
	return 0;
}

/* a stage not wanted any more (the checkpoint failed): gone */
static void stage_abandon(struct stage *s)
{
	if (s->child <= 0)
		return;
	kill(s->child, SIGTERM);
	stage_reap(s);
}

/* The fds of the job's processes, read once each from the kernel as
 * the dump goes (lib/fdshare.h): each process's ckpt-dumpfds gets the
 * table of those before it, to write what it shares with them once */
struct shares {
	struct fdshare tab;
	size_t saved;       /* entries already in the memfd */
	int fd;             /* a memfd holding the table as text */
};

static void shares_init(struct shares *sh)
{
	memset(sh, 0, sizeof *sh);
	if ((sh->fd = memfd_create("ckpt-shared-fds", MFD_CLOEXEC)) < 0)
		die("memfd_create:");
}

/* the table up to date before a process's dumpfds: 0 or -1 */
static int shares_sync(struct shares *sh)
{
	int r = fdshare_save(&sh->tab, sh->saved, sh->fd);

	if (r < 0) {
		warnerr(r, "the job's fd table:");
		return -1;
	}
	sh->saved = sh->tab.n;
	return 0;
}

static void shares_free(struct shares *sh)
{
	fdshare_free(&sh->tab);
	close(sh->fd);
}

/* CKPT_TIMING: where the job's time went, summed over its processes */
static struct {
	uint64_t members, fds, mem, table;
} tm;

static int timed(uint64_t *sum, int r, uint64_t *t0)
{
	uint64_t now = timing_ns();

	*sum += now - *t0;
	*t0 = now;
	return r;
}

static void tm_say(void)
{
	timing_part("core, threads, timers", tm.members, "");
	timing_part("ckpt-dumpfds", tm.fds, "");
	timing_part("ckpt-dumpmem", tm.mem, "");
	timing_part("the job's fd table", tm.table, "");
}

static int write_members(struct tar_out *t, const struct job_proc *p, const struct kproc *k,
			 struct threads *th, const struct opts *o)
{
	if (threads_fetch(p->sock, p->pid, th) == 0 &&
	    write_core(t, p->sock, k, th, o->kill) == 0 &&
	    write_threads(t, k, th) == 0 && timers_dump(t, p->sock, p->pid) == 0)
		return 0;
	return -1;
}

/* A process's part of the stream before its memory, made while the
 * process before it streams its pages (two cores do two things): the
 * members we write (core, threads, timers) kept in a memfd, and its
 * ckpt-dumpfds running into its pipe.  Both talk to the process's
 * shim on its one connection, so ours come first, then the stage's
 * (a request and its reply must not interleave).  ckpt-dumpfds's
 * output does not depend on where it lands in the stream: only the
 * pages member is aligned, and that is ckpt-dumpmem's. */
struct ahead {
	unsigned i;         /* the process; none when the job's n */
	int members;        /* memfd, or -1 */
	struct stage fds;
	struct stage mem;   /* with early: its ckpt-dumpmem, started at once */
	int turn;           /* our end of that one's --offset-fd, or -1 */
};

/* With early, the process's ckpt-dumpmem is started too, before its
 * turn: it makes its scans while frozen (maps, smaps, dirty tracking)
 * once its ckpt-dumpfds is done with the connection (--after: the end
 * of a pipe only the dumpfds holds), which is while the process before
 * it streams its pages; then it waits for its offset, given by
 * ahead_turn.  A job of 50 processes spent 2 ms a process there with
 * the stream idle (bench/tree). */
static int ahead_start(struct ahead *a, const struct job *j, unsigned i, const struct kproc *k,
		       struct shares *sh, struct opts *o, int early)
{
	struct threads th = { NULL, 0 };
	struct tar_out mt;
	uint64_t t0 = timing_ns();
	int r, after[2], turn[2];

	*a = (struct ahead){ .i = i, .members = memfd_create("ckpt-members", MFD_CLOEXEC),
			     .turn = -1 };
	if (a->members < 0)
		die("memfd_create:");
	tar_init(&mt, a->members, 0);
	r = timed(&tm.members, write_members(&mt, &j->v[i], k, &th, o), &t0);
	free(th.v);
	if (r < 0 || shares_sync(sh) < 0)
		return -1;
	if (early && pipe2(after, O_CLOEXEC) < 0)
		return warn("pid %d: pipe:", (int)j->v[i].pid), -1;
	r = stage_start(&a->fds, "ckpt-dumpfds", &j->v[i], 0, sh->fd, o);
	if (!early)
		return r;
	close(after[1]);   /* the dumpfds holds it, and nothing else does */
	if (r == 0 && pipe2(turn, O_CLOEXEC) < 0) {
		warn("pid %d: pipe:", (int)j->v[i].pid);
		r = -1;
	}
	if (r == 0) {
		o->offset_fd = turn[0], o->after_fd = after[0], o->turn_fd = turn[1];
		r = stage_start(&a->mem, "ckpt-dumpmem", &j->v[i], 0, -1, o);
		o->offset_fd = o->after_fd = o->turn_fd = -1;
		close(turn[0]);
		a->turn = turn[1];
	}
	close(after[0]);
	return r;
}

/* the early ckpt-dumpmem's turn: its output starts at off.  A stage
 * gone already says why when it is finished */
static void ahead_turn(struct ahead *a, uint64_t off)
{
	if (write_all(a->turn, &off, sizeof off) < 0 && errno != EPIPE)
		warn("pid %d: ckpt-dumpmem's offset:", (int)a->mem.pid);
	close(a->turn);
	a->turn = -1;
}

/* its members, then what its ckpt-dumpfds wrote, into the stream; its
 * fds join the job's table: 0, or -1 after a message */
static int ahead_write(struct ahead *a, struct tar_out *t, const struct job *j, struct shares *sh)
{
	uint64_t t0 = timing_ns();
	int r = lseek(a->members, 0, SEEK_SET) < 0 ? -errno : stage_copy(a->members, t);

	close(a->members);
	a->members = -1;
	if (r < 0)
		return warnerr(r, "stdout:"), -1;
	if (timed(&tm.fds, stage_finish(&a->fds, t), &t0) < 0)
		return -1;
	return timed(&tm.table, fdshare_add(&sh->tab, j->v[a->i].pid), &t0);
}

static void ahead_abandon(struct ahead *a)
{
	if (a->members >= 0)
		close(a->members);
	a->members = -1;
	if (a->turn >= 0)
		close(a->turn);
	a->turn = -1;
	stage_abandon(&a->fds);
	stage_abandon(&a->mem);
}

/* the first process at or after i with members (not a zombie) */
static unsigned next_proc(const struct job *j, unsigned i)
{
	while (i < j->n && j->v[i].zombie)
		i++;
	return i;
}

/* Every process's members, in stream order: its own (ahead, above),
 * then its ckpt-dumpmem, during which the next process's are made.
 * 0, or -1 after a message. */
static int write_procs(struct tar_out *t, const struct job *j, const struct kproc *k,
		       struct shares *sh, struct opts *o)
{
	struct ahead a = { .members = -1, .turn = -1 };
	struct stage mem = { .child = 0 };
	unsigned i = next_proc(j, 0), n;
	uint64_t t0;
	int r = i < j->n ? ahead_start(&a, j, i, &k[i], sh, o, 1) : 0;

	while (r == 0 && i < j->n) {
		if ((r = ahead_write(&a, t, j, sh)) < 0)
			break;
		ahead_turn(&a, t->off);
		mem = a.mem;
		a.mem.child = 0;
		if ((n = next_proc(j, i + 1)) < j->n &&
		    (r = ahead_start(&a, j, n, &k[n], sh, o, 1)) < 0)
			break;
		t0 = timing_ns();
		r = timed(&tm.mem, stage_end(&mem, t), &t0);
		i = n;
	}
	stage_abandon(&mem);
	ahead_abandon(&a);
	return r;
}

/* --stats: when the freeze began and when the job thawed, and when
 * we began (CLOCK_MONOTONIC) */
static struct timespec frozen_at, thawed_at, begun_at;

/* --tcp-established: the sockets ckpt-dumpfds put in repair mode, and
 * handed to us, back out of it (sending nothing) before the job runs
 * again; with --kill, once the job is dead, given to a keeper that holds
 * them in it until the restore, so that neither a FIN nor a reset tells
 * the peer (lib/tcprepair.h, lib/tcpkeep.h) */
static int repair_end(const struct opts *o, int killed)
{
	int r;

	if (!o->tcp_established)
		return 0;
	r = tcprep_hold_from(o->tcp_chan[0]);
	if (killed) {
		tcprep_keep(o->tcp_keep ? o->tcp_keep : TCPKEEP_SECONDS);
		return r;
	}
	return tcprep_release(0) < 0 ? -1 : r;
}

static int thaw_job(struct job *j, const struct opts *o)
{
	int r = repair_end(o, 0);

	if (job_thaw(j) < 0)
		r = -1;

	if (!thawed_at.tv_sec)
		clock_gettime(CLOCK_MONOTONIC, &thawed_at);
	return r;
}

/* --cow: a process's part of the stream before its pages, made while
 * the job is frozen (into head, a memfd), and its ckpt-dumpmem, which
 * holds the process's snapshot and waits for its turn (lib/cow.h) */
struct cowproc {
	int head;
	struct stage mem;
	int chan;          /* our end of the dumpmem's --cow channel */
	int sub;           /* the process is a child subreaper */
};

/* an ancestor of process i in the job is a child subreaper: an orphan
 * snapshot of i would become its child */
static int cow_under_subreaper(const struct job *j, const struct cowproc *cp, unsigned i)
{
	unsigned k;
	pid_t up = j->v[i].ppid;

	for (k = i; k-- > 0;)
		if (j->v[k].pid == up) {
			if (cp[k].sub)
				return 1;
			up = j->v[k].ppid;
		}
	return 0;
}

/* a stage that ended before its message: how (it said why itself) */
static void cow_stage_failed(struct cowproc *c)
{
	struct tar_out none;

	tar_init(&none, -1, 0);
	stage_end(&c->mem, &none);
}

/* process i's head into a memfd (its members and its ckpt-dumpfds'
 * output): 0, or -1 after a message */
static int cow_head(struct cowproc *c, const struct job *j, unsigned i, const struct kproc *k,
		    struct shares *sh, struct opts *o)
{
	struct ahead a = { .members = -1, .turn = -1 };
	struct tar_out ht;
	int r;

	if ((c->head = memfd_create("ckpt-cow-head", MFD_CLOEXEC)) < 0)
		die("memfd_create:");
	tar_init(&ht, c->head, 0);
	r = ahead_start(&a, j, i, k, sh, o, 0);
	if (r == 0)
		r = ahead_write(&a, &ht, j, sh);
	ahead_abandon(&a);
	return r;
}

/* process i's ckpt-dumpmem started, on its --cow channel: 0, or -1
 * after a message */
static int cow_start(struct cowproc *c, const struct job *j, unsigned i, const struct kproc *k,
		     struct opts *o, struct cowproc *all)
{
	int ch[2], r;

	if (cow_freeze_channel(j->v[i].pid, ch) < 0)
		return -1;
	o->cow_fd = ch[1];
	o->cow_child = cow_under_subreaper(j, all, i);
	/* a guess of the process frozen, or none */
	o->guess_fd = cow_guess_of(o->guesses, k);
	r = stage_start(&c->mem, "ckpt-dumpmem", &j->v[i], 0, -1, o);
	o->cow_fd = o->guess_fd = -1;
	close(ch[1]);
	c->chan = ch[0];
	return r;
}

/* the stage of c has saved its part of the job's shm table (the next
 * one may start), and said whether its process is a subreaper: 0, or
 * -1 after a message */
static int cow_scanned(struct cowproc *c)
{
	if ((c->sub = cow_freeze_ready(c->chan)) >= 0)
		return 0;
	cow_stage_failed(c);
	return -1;
}

/* The job frozen, each process's stages run in turn, but a
 * ckpt-dumpmem's snapshot (fork's copy of the page tables, the most of
 * the pause) is made while the next process's members, ckpt-dumpfds
 * and ckpt-dumpmem go on, on two cores: a ckpt-dumpmem waits only for
 * the one before it to have saved the shm table it reads.  Then every
 * snapshot is waited for.  0, or -1 after a message. */
static int cow_frozen(struct cowproc *cp, const struct job *j, const struct kproc *k,
		      struct shares *sh, struct opts *o)
{
	unsigned i, prev = j->n;
	int r = 0;

	for (i = next_proc(j, 0); r == 0 && i < j->n; prev = i, i = next_proc(j, i + 1)) {
		r = cow_head(&cp[i], j, i, &k[i], sh, o);
		if (r == 0 && prev < j->n)
			r = cow_scanned(&cp[prev]);
		if (r == 0)
			r = cow_start(&cp[i], j, i, &k[i], o, cp);
	}
	if (r == 0 && prev < j->n)
		r = cow_scanned(&cp[prev]);
	for (i = next_proc(j, 0); r == 0 && i < j->n; i = next_proc(j, i + 1))
		if ((r = cow_freeze_snapshot(cp[i].chan)) < 0)
			cow_stage_failed(&cp[i]);
	return r;
}

/* Every process's members, --cow: all but the pages while the job is
 * frozen, then the thaw, then the stream, the pages of each from its
 * snapshot.  0, or -1 after a message. */
static int write_procs_cow(struct tar_out *t, struct job *j, const struct kproc *k,
			   struct shares *sh, struct opts *o)
{
	struct cowproc *cp = calloc(j->n ? j->n : 1, sizeof *cp);
	uint64_t t0;
	unsigned i;
	int r;

	if (!cp)
		die("out of memory");
	for (i = 0; i < j->n; i++)
		cp[i] = (struct cowproc){ .head = -1, .chan = -1 };
	r = cow_frozen(cp, j, k, sh, o);
	t0 = timing_ns();
	if (r == 0)
		r = thaw_job(j, o);
	timing_part("--cow: the thaw", timing_ns() - t0, "");
	/* each stage scans its snapshot now, before its turn */
	for (i = next_proc(j, 0); r == 0 && i < j->n; i = next_proc(j, i + 1))
		cow_freeze_thawed(cp[i].chan);
	for (i = next_proc(j, 0); r == 0 && i < j->n; i = next_proc(j, i + 1)) {
		r = lseek(cp[i].head, 0, SEEK_SET) < 0 ? -errno : stage_copy(cp[i].head, t);
		if (r < 0)
			warnerr(r, "stdout:");
		else
			r = cow_freeze_go(cp[i].chan, j->v[i].pid, t->off) < 0 ? -1 :
				stage_end(&cp[i].mem, t);
	}
	for (i = 0; i < j->n; i++) {
		stage_abandon(&cp[i].mem);   /* its snapshot ends with it */
		if (cp[i].head >= 0)
			close(cp[i].head);
		if (cp[i].chan >= 0)
			close(cp[i].chan);
	}
	free(cp);
	return r;
}

/* What the kernel says of each process, tied to the process behind its
 * connection, and what cannot be restored, before anything is written:
 * an array of j->n (zombies' unused), or NULL after a message. */
static struct kproc *kprocs_open(const struct job *j)
{
	struct kproc *k = calloc(j->n ? j->n : 1, sizeof *k);
	unsigned i, n;

	if (!k)
		die("out of memory");
	for (i = 0; i < j->n; i++)
		k[i].pidfd = k[i].dirfd = -1;
	for (i = 0; i < j->n; i++) {
		if (j->v[i].zombie)
			continue;
		if (kproc_open(&k[i], j->v[i].pid, j->v[i].sock) < 0 || kproc_no_seccomp(&k[i]) < 0 ||
		    kproc_no_aio(&k[i]) < 0 || core_check(j->v[i].sock, &k[i]) < 0)
			break;
	}
	if (i == j->n)
		return k;
	for (n = 0; n <= i && n < j->n; n++)
		kproc_close(&k[n]);
	free(k);
	return NULL;
}

static void kprocs_close(struct kproc *k, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		kproc_close(&k[i]);
	free(k);
}

/* The image is written whole: each process's dirty tracking counts
 * from it now (lib/dirty.h).  A shim that did not scan in this freeze
 * keeps its epoch, or has none: it says no, and that is no error.
 * After --cow the job is thawed and its connections closed: a new
 * one, which the shim takes only for the id its last scan named. */
static void epochs_set(const struct job *j, const char *id)
{
	unsigned i;
	int s, why;

	for (i = 0; i < j->n; i++) {
		if (j->v[i].zombie)
			continue;
		if (j->v[i].sock >= 0) {
			dirty_epoch_set(j->v[i].sock, id);
		} else if ((s = ctl_open_try(j->v[i].pid, &why)) >= 0) {
			dirty_epoch_set(s, id);
			close(s);
		}
	}
}

/* --index-out: a temporary file beside FILE until the stream is whole */
static void index_open(struct opts *o)
{
	o->index_fd = -1;
	if (!o->index_path)
		return;
	snprintf(o->index_tmp, sizeof o->index_tmp, "%s.XXXXXX", o->index_path);
	if ((o->index_fd = mkostemp(o->index_tmp, O_CLOEXEC)) < 0)
		die("--index-out %s:", o->index_path);
}

/* its trailer, and its name: 0, or -1 after a message */
static int index_commit(struct opts *o)
{
	struct tar_out it;
	int r;

	if (o->index_fd < 0)
		return 0;
	tar_init(&it, o->index_fd, 0);
	if ((r = tar_finish(&it)) < 0 || fsync(o->index_fd) < 0 ||
	    rename(o->index_tmp, o->index_path) < 0) {
		warnerr(r < 0 ? r : -errno, "--index-out %s:", o->index_path);
		return -1;
	}
	*o->index_tmp = 0;
	return 0;
}

static void index_close(struct opts *o)
{
	if (o->index_fd < 0)
		return;
	close(o->index_fd);
	if (*o->index_tmp)
		unlink(o->index_tmp);
}

/* the stream's end; then the job thaws, or dies with --kill */
static int finish(struct tar_out *t, struct job *j, struct opts *o)
{
	int r;

	if (stream_out_end(t) < 0 || index_commit(o) < 0)
		return -1;
	if (!o->kill)
		epochs_set(j, o->id);
	ns_stream_done();
	if (!o->kill)
		return thaw_job(j, o);
	r = job_kill(j);
	return repair_end(o, 1) < 0 ? -1 : r;
}

/* the stream of a frozen job: 0, or -1 after a message (releasing the
 * job's connections then thaws every process) */
static int checkpoint(struct job *j, struct opts *o)
{
	struct kproc *k = kprocs_open(j);
	struct jobshm shm;
	struct shares sh;
	struct tar_out t;
	int r = -1;

	if (!k)
		return -1;
	timing_phase("check every process");
	if (job_shm_check(j, o->kill && !o->force, &shm) < 0 || job_socks_check(j) < 0 ||
	    ptyjob_check(j) < 0) {
		kprocs_close(k, j->n);
		return -1;
	}
	timing_phase("check shared memory");
	shares_init(&sh);
	tar_init(&t, 1, 0);
	if (write_manifest(&t, j, &shm, o) == 0) {
		r = o->cow ? write_procs_cow(&t, j, k, &sh, o) : write_procs(&t, j, k, &sh, o);
		timing_phase("write every process");
		tm_say();
		if (r == 0)
			r = finish(&t, j, o);
		timing_phase("finish (drain, thaw or kill)");
	}
	shares_free(&sh);
	jobshm_free(&shm);
	kprocs_close(k, j->n);
	return r;
}

static double ms_since(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

/* --stats: how long the job was frozen, from the first freeze request
 * to its thaw (a failed checkpoint's thaw is now, as the job is
 * released), and the whole dump */
static void stats_say(const struct opts *o, unsigned n)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	warn("pid %d: job of %u process%s frozen for %.3f ms%s; whole dump %.3f ms", (int)o->pid, n,
	     n == 1 ? "" : "es", ms_since(&frozen_at, thawed_at.tv_sec ? &thawed_at : &now),
	     o->cow ? " (copy-on-write)" : "", ms_since(&begun_at, &now));
}

/* --tcp-established: refused at once, before the job is touched, when
 * the kernel will not let us repair (no CAP_NET_ADMIN); the channel on
 * which ckpt-dumpfds hands us the sockets it put in repair mode */
static void tcp_init(struct opts *o)
{
	int r = tcprep_can();

	if (r < 0)
		die("--tcp-established: %s; pid %d not checkpointed%s", tcprep_why(r), (int)o->pid,
		    o->kill ? ", not killed" : "");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, o->tcp_chan) < 0 ||
	    fcntl(o->tcp_chan[0], F_SETFL, O_NONBLOCK) < 0)
		die("--tcp-established: socketpair:");
}

/* the job's pids, "PID,PID,...": whose sockets are in the job */
static char *job_pids(const struct job *j)
{
	char *s = malloc(12 * (j->n + 1)), *p = s;
	unsigned i;

	if (!s)
		die("out of memory");
	*p = 0;
	for (i = 0; i < j->n; i++)
		if (!j->v[i].zombie)
			p += sprintf(p, "%s%d", p == s ? "" : ",", (int)j->v[i].pid);
	return s;
}

int main(int argc, char **argv)
{
	struct opts o = { .cow_fd = -1, .offset_fd = -1, .after_fd = -1, .turn_fd = -1,
			  .tcp_chan = { -1, -1 }, .guess_fd = -1 };
	static struct cow_guesses guesses;
	struct job j;
	int r;

	prog_init(argv);
	timing_init();
	parse(argc, argv, &o);
	stdout_check();
	if (o.parent_path && parent_load(&o.parent, o.parent_path) < 0)
		return 1;
	if (o.parent_path)
		timing_phase("load the parent's index (its id; the rest meanwhile)");
	image_id_new(o.id);
	if ((o.shm_table = memfd_create("ckpt-shm-table", MFD_CLOEXEC)) < 0)
		die("memfd_create:");
	/* a bad rules file is found before the process is touched */
	if (rules_check(o.rules) < 0)
		return 1;
	index_open(&o);
	if (o.tcp_established)
		tcp_init(&o);
	/* a job restored in a pid namespace of its own: from inside it */
	o.pid = ns_follow(o.pid);
	clock_gettime(CLOCK_MONOTONIC, &begun_at);
	/* smaps read now, not frozen: 7-13 ms a GiB (lib/cowguess.h) */
	o.guesses = &guesses;
	if (o.cow)
		cow_guesses_take(&guesses, o.pid);
	if (o.cow)
		timing_phase("--cow: smaps before the freeze");
	clock_gettime(CLOCK_MONOTONIC, &frozen_at);
	if (job_freeze(&j, o.pid, o.timeout_ms, o.single) < 0) {
		if (o.kill)
			warn("pid %d: not killed: it runs on", (int)o.pid);
		index_close(&o);
		parent_done(&o.parent);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &o.time);
	if (o.tcp_established)
		o.tcp_pids = job_pids(&j);
	timing_phase("freeze the job");
	if (o.verbose)
		warn("pid %d: job of %u process%s frozen in %ld ms", (int)o.pid, j.n,
		     j.n > 1 ? "es" : "", j.freeze_ms);
	progress_start(PROGRESS_OUT, progress_mode, 0);
	r = checkpoint(&j, &o);
	/* closing the connections thaws the processes */
	if (r < 0 && o.kill)
		warn("pid %d: not killed: it runs on", (int)o.pid);
	if (o.stats)
		stats_say(&o, j.n);
	if (r < 0)
		repair_end(&o, 0);   /* before the job runs on */
	job_release(&j);
	free(o.tcp_pids);
	index_close(&o);
	parent_done(&o.parent);   /* reaped: each dumpmem judged its table */
	return r < 0 ? 1 : 0;
}
