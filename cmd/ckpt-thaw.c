/* ckpt-thaw - a raw (or compressed) stream back to a running job: each
 * process made with its old pid, its fds in place, then the restorer
 * exec'd in it with a plan and the pages (doc/restore.md, lib/thawjob.c).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "err.h"
#include "progress.h"
#include "ptyterm.h"
#include "inetplan.h"
#include "selfdir.h"
#include "thawjob.h"
#include "timing.h"
#include "verify.h"

static const char usage_str[] =
	"ckpt-thaw [--stdin PATH] [--same-ns] [--files-rules PATH] [--trust-image] [--verify] [--tcp-established] [--pty] [--progress|-q] [IMAGE | BASE INC...]";

/* --progress, -q (lib/progress.h) */
static enum progress_mode progress_mode = PROGRESS_AUTO;

static const struct option options[] = {
	{ "stdin", required_argument, NULL, 'i' },
	{ "same-ns", no_argument, NULL, 's' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "trust-image", no_argument, NULL, 'T' },
	{ "verify", no_argument, NULL, 'v' },
	{ "tcp-established", no_argument, NULL, 'E' },
	{ "pty", no_argument, NULL, 't' },
	{ "progress", no_argument, NULL, 'P' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static struct thaw_job thaw;
static int verify;           /* --verify */
static int new_pty;          /* --pty */
static pid_t unpack_child;   /* merging a chain into our stream */

/* how long a difference may take to settle: the restored threads set
 * their names and affinity as they resume, after their OK */
#define VERIFY_SETTLE_MS 1000

/* kill what was made, and go: a bad image leaves no process behind */
static _Noreturn void abandon(struct thaw_job *t)
{
	thawjob_kill(t);
	exit(1);
}

/* SIGTERM and SIGHUP are the job's.  One that comes before the job
 * runs (while the stream is read and the job built) is kept and passed
 * on once it runs: the job's first output can come before every OK is
 * read, and a caller that signals it then must not kill ckpt-thaw
 * alone, leaving the job without the one who waits for it. */
static volatile sig_atomic_t running, early_sig;

static void forward(int sig)
{
	if (running && thaw.tree.child > 0)
		kill(thaw.tree.child, sig);
	else
		early_sig = sig;
}

static int child_wait(pid_t child)
{
	int st;

	signal(SIGINT, SIG_IGN);   /* the terminal signals the job itself */
	signal(SIGQUIT, SIG_IGN);
	running = 1;
	if (early_sig)
		kill(child, early_sig);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			die("wait for pid %d:", child);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* the restored root as we see it: in a new pid namespace, the
 * reaper's one child */
static pid_t root_pid(const struct thaw_job *t)
{
	char path[64];
	long v = 0;
	FILE *f;

	if (!t->newns)
		return t->procs[0].img.core.pid;
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)t->tree.child, (int)t->tree.child);
	if ((f = fopen(path, "re"))) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void restorer_find(struct thaw_job *t)
{
	const char *env = getenv("CKPT_RESTORER");
	char dir[2048];
	int e;

	if (env && *env) {
		snprintf(t->restorer, sizeof t->restorer, "%s", env);
		return;
	}
	if ((e = self_dir(dir, sizeof dir)) < 0)
		dieerr(e, "find the restorer: /proc/self/exe:");
	snprintf(t->restorer, sizeof t->restorer, "%s/../lib/ckpt/ckpt-restorer", dir);
	if (access(t->restorer, X_OK) < 0)
		die("restorer %s:", t->restorer);
}

/* A chain's links, checked (chain.h), each owned by the one who owns
 * the last (whose owner then vouches for the image: creds_trust), and
 * merged by a ckpt-unpack into a pipe we read: its fd */
static int chain_open(struct thaw_job *t, char **paths, int n)
{
	struct stat st, last;
	char dir[2048], exe[2100];
	int p[2], i, e;

	if (chain_check(paths, n) < 0)
		exit(1);
	if ((t->in.vouch_fd = open(paths[n - 1], O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(t->in.vouch_fd, &last) < 0)
		die("%s:", paths[n - 1]);
	t->in.vouch = 1;
	for (i = 0; i < n - 1 && !t->in.trust_image; i++)
		if (stat(paths[i], &st) < 0 || st.st_uid != last.st_uid)
			die("%s: owned by uid %d, the chain's last link %s by uid %d: a chain is one user's",
			    paths[i], (int)st.st_uid, paths[n - 1], (int)last.st_uid);
	if ((e = self_dir(dir, sizeof dir)) < 0)
		dieerr(e, "find ckpt-unpack: /proc/self/exe:");
	snprintf(exe, sizeof exe, "%s/ckpt-unpack", dir);
	if (pipe2(p, O_CLOEXEC) < 0 || (unpack_child = fork()) < 0)
		die("merge the chain:");
	if (unpack_child == 0) {
		char **argv = calloc(n + 3, sizeof *argv);

		if (!argv || dup2(p[1], 1) < 0)
			_exit(127);
		argv[0] = "ckpt-unpack";
		argv[1] = "-q";
		memcpy(argv + 2, paths, n * sizeof *argv);
		execv(exe, argv);
		warn("exec %s:", exe);
		_exit(127);
	}
	close(p[1]);
	return p[0];
}

/* --tcp-established: connections saved with TCP_REPAIR made again
 * whole; refused at once where the kernel refuses repair mode */
static void tcp_established(void)
{
	int r = tcprep_can();

	if (r < 0)
		die("--tcp-established: %s", tcprep_why(r));
	inetplan_repair_allow();
}

/* the options, checked; the stream opened: 0, or the exit status */
static int setup(struct thaw_job *t, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "+i:sr:Tvqh", options, NULL)) != -1) {
		switch (c) {
		case 'i': t->attach.stdin_path = optarg; break;
		case 's': t->same_ns = 1; break;
		case 'r': t->rules_path = optarg; break;
		case 'T': t->in.trust_image = 1; break;
		case 'v': verify = 1; break;
		case 'E': tcp_established(); break;
		case 't': new_pty = 1; break;
		case 'P': progress_mode = PROGRESS_ON; break;
		case 'q': progress_mode = PROGRESS_OFF; break;
		case 'h': printf("usage: %s\n", usage_str); exit(0);
		default: usage_die(usage_str);
		}
	}
	if (t->attach.stdin_path && access(t->attach.stdin_path, R_OK) < 0)
		die("--stdin %s:", t->attach.stdin_path);
	restorer_find(t);
	/* a bad rules file is found before anything is read or made */
	if (t->rules_path && rules_load(&t->rules, t->rules_path) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	t->attach.from_file = t->in.from_file = optind < argc;
	if (!t->attach.from_file && isatty(0)) {
		warn("no image: name a file, or pipe the stream in");
		usage_die(usage_str);
	}
	progress_start(PROGRESS_IN, progress_mode, 0);
	if (argc - optind > 1)
		return stream_open(&t->in.st, NULL, chain_open(t, argv + optind, argc - optind),
				   "the chain") < 0;
	if (stream_open(&t->in.st, t->attach.from_file ? argv[optind] : NULL, 0,
			t->attach.from_file ? argv[optind] : "stdin") < 0)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct thaw_job *t = &thaw;
	struct pty_term term = { .fd = -1 };
	int c, bad = 0;

	prog_init(argv);
	timing_init();
	if ((c = setup(t, argc, argv)) != 0)
		return c;
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	if (thawjob_read(t) < 0) {
		thawjob_free(t);
		return 1;
	}
	/* from here on in the child, on the new terminal (ptyrelay.h) */
	if (new_pty)
		t->attach.term_fd = ptyterm_new(&t->procs[0].img.fds, &t->procs[0].img.core,
						t->attach.from_file);
	if (ptyterm_check(&t->procs[0].img.fds, t->procs[0].img.core.pgid) < 0) {
		thawjob_free(t);
		return 1;
	}
	ptyterm_session(&t->in.man, &t->procs[0].img.fds);
	timing_phase("read and check the members before the pages");
	if (thawjob_ns(t) < 0)
		abandon(t);
	timing_phase("choose namespaces");
	if (thawjob_restore(t) < 0)
		abandon(t);
	timing_running_at();
	ptyterm_take(&term, &t->procs[0].img.fds, root_pid(t));
	stream_close(&t->in.st);
	if (unpack_child > 0)
		waitpid(unpack_child, NULL, 0);
	/* a difference is said at once; the job runs on (doc/ckpt-thaw.1),
	 * and ckpt-thaw, which it needs as its parent, waits for it */
	if (verify && (bad = verify_job(t, VERIFY_SETTLE_MS)) > 0)
		warn("verify: %d difference%s from the image; the job runs on", bad,
		     bad == 1 ? "" : "s");
	c = child_wait(t->tree.child);
	ptyterm_give_back(&term);
	thawjob_free(t);
	return bad ? 1 : c;
}
