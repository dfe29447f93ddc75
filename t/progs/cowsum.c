/* cowsum - threads that never stop writing their memory, each keeping
 * a running sum of what it wrote (t/cow.bats).
 *
 * usage: cowsum [-s] [-f] [-k KIND] [-p PROCS] [MIB [NTHREADS]]
 *        (default 64 MiB, 1 thread, KIND private, 1 process)
 *
 * Each writer owns a slice of MIB/NTHREADS, a mapping of its own of
 * KIND: private (anonymous), shared (MAP_SHARED|MAP_ANONYMOUS),
 * dontfork (private, MADV_DONTFORK), wipeonfork (private,
 * MADV_WIPEONFORK), or mixed (the four in turn).  It rewrites its words one by
 * one with a value of (index, pass), adding the difference to its
 * running sum as it goes, and at the end of each pass checks that the
 * slice adds up to that sum.  A freeze stops it anywhere, even between
 * a word and its sum: its registers hold the rest, so an image taken
 * at one instant adds up again at the end of the pass after a restore,
 * and one whose pages come from different instants does not.  The
 * live program checks the same: a snapshot must never change what it
 * sees.
 *
 * -s: the process is a child subreaper (PR_SET_CHILD_SUBREAPER).
 * -f: each slice is a region of its own (PROT_NONE pages on each side:
 * no neighbour merges with it), and a thread flips, on whole slices,
 * MADV_WIPEONFORK/KEEPONFORK (even slices) and MADV_DONTFORK/DOFORK
 * (odd ones), in bursts of 100 flips with pauses of 0-200 ms: the maps
 * text never changes, the VmFlags do (the race of ckpt-freeze --cow's
 * smaps guess, lib/cowguess.h).
 * -p PROCS: the process forks PROCS-1 children that do the same (each
 * its own memory) and print "child passes N"; SIGTERM ends them too.
 *
 * Prints "pid P", "ready cowsum mib=M threads=N", then "passes N" (the
 * passes of the slowest writer) every 50 ms, with "watch reaped=R
 * sigchld=S strangers=K": what waitpid(-1, WNOHANG) reaped that is
 * none of ours, the SIGCHLDs for anything but our children's end, and
 * the processes the kernel lists as our children that we did not
 * make (a copy-on-write snapshot must be none of these).  A slice that
 * does not add up: "FAIL thread T pass N: sum S, words add up to W",
 * exit 1; a child that fails: "FAIL child ...".  SIGTERM: "done ok
 * passes=N restored=R", R the passes since the last restore (ckpt(3)
 * hook; the passes the restored writers checked), exit 0.
 */
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "../../include/ckpt.h"
#include "prog.h"

#define MAXT 16
#define MAXP 8

struct writer {
	uint64_t *w;           /* its slice */
	size_t n;
	uint64_t sum;          /* of the words, as the writer wrote them */
	volatile uint64_t passes;
	int id;
} __attribute__((aligned(64)));

static struct writer writers[MAXT];

static uint64_t value(size_t i, uint64_t pass)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ (pass + 1) * 0xbf58476d1ce4e5b9ULL;

	return x ^ x >> 31;
}

static void check(struct writer *wr)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < wr->n; i++)
		s += wr->w[i];
	if (s != wr->sum) {
		printf("FAIL thread %d pass %" PRIu64 ": sum %" PRIx64 ", words add up to %" PRIx64 "\n",
		       wr->id, wr->passes, wr->sum, s);
		fflush(stdout);
		_exit(1);
	}
}

static void *write_on(void *arg)
{
	struct writer *wr = arg;
	volatile uint64_t *w = wr->w;
	uint64_t v;
	size_t i;

	requests_to_main();
	for (;;) {
		for (i = 0; i < wr->n; i++) {
			v = value(i, wr->passes);
			wr->sum += v - w[i];
			w[i] = v;
		}
		check(wr);
		wr->passes++;
	}
	return NULL;
}

static uint64_t slowest(int n)
{
	uint64_t m = UINT64_MAX;
	int t;

	for (t = 0; t < n; t++)
		if (writers[t].passes < m)
			m = writers[t].passes;
	return m;
}

static const char *const kinds[] = { "private", "shared", "dontfork", "wipeonfork" };

static int flip;   /* -f */

static uint64_t *slice_map(const char *kind, int t, size_t bytes)
{
	int k;
	char *p;

	for (k = 0; k < 4 && strcmp(kind, kinds[k]); k++)
		;
	if (k == 4 && !strcmp(kind, "mixed"))
		k = t % 4;
	if (k == 4)
		return NULL;
	p = mmap(NULL, bytes + (flip ? 8192 : 0), PROT_READ | PROT_WRITE,
		 (k == 1 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (flip && (mprotect(p, 4096, PROT_NONE) || mprotect(p + 4096 + bytes, 4096, PROT_NONE)))
		return NULL;
	p += flip ? 4096 : 0;
	if ((k == 2 && madvise(p, bytes, MADV_DONTFORK)) ||
	    (k == 3 && madvise(p, bytes, MADV_WIPEONFORK)))
		return NULL;
	return (uint64_t *)p;
}

/* -f: the flags of whole slices flipped, in bursts */
static void *flip_on(void *arg)
{
	static const int advice[2][2] = { { MADV_WIPEONFORK, MADV_KEEPONFORK },
					  { MADV_DONTFORK, MADV_DOFORK } };
	size_t bytes = *(size_t *)arg;
	unsigned seed = getpid(), i, k = 0;
	struct timespec tick = { 0, 200000 }, pause;
	int t;

	requests_to_main();
	for (;;) {
		for (i = 0; i < 100; i++, k ^= 1) {
			for (t = 0; t < MAXT && writers[t].w; t++)
				if (madvise(writers[t].w, bytes, advice[t % 2][k]))
					perror("madvise"), _exit(1);
			nanosleep(&tick, NULL);
		}
		pause = (struct timespec){ 0, rand_r(&seed) % 200 * 1000000L };
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static volatile uint64_t at_restore;
static int nwriters;

static void on_restore(enum ckpt_event ev, void *arg)
{
	(void)arg;
	if (ev == CKPT_EVENT_RESTORE)
		at_restore = slowest(nwriters) + 1;   /* 0: never restored */
}

static pid_t kids[MAXP];
static int nkids;
static volatile sig_atomic_t sigchld;

static void on_chld(int sig)
{
	(void)sig;
	sigchld++;
}

static int is_kid(pid_t p)
{
	int i;

	for (i = 0; i < nkids; i++)
		if (kids[i] == p)
			return 1;
	return 0;
}

/* the kernel's children of our threads that we did not fork */
static int strangers(void)
{
	char path[300];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	FILE *f;
	long c;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fscanf(f, "%ld", &c) == 1)
			n += !is_kid(c);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* SIGTERM: our children end, each with "done ok" of its own */
static int kids_end(void)
{
	int i, st, bad = 0;

	for (i = 0; i < nkids; i++) {
		kill(kids[i], SIGTERM);
		if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("FAIL child %d: status %#x\n", (int)kids[i], st);
			bad = 1;
		}
	}
	return bad;
}

static void watch(int n, int child, unsigned *reaped, unsigned *ends)
{
	pid_t p;
	int st;

	while (!child && (p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (is_kid(p)) {
			printf("FAIL child %d ended: status %#x\n", (int)p, st);
			(*ends)++;
		} else {
			(*reaped)++;
		}
	}
	printf("%spasses %" PRIu64 "\n", child ? "child " : "", slowest(n));
	if (!child)
		printf("watch reaped=%u sigchld=%d strangers=%d\n", *reaped,
		       (int)sigchld - (int)*ends, strangers());
}

int main(int argc, char **argv)
{
	const char *kind = "private";
	size_t mib, per;
	int n, t, c, procs = 1, child = 0;
	struct timespec nap = { 0, 50000000 };
	unsigned reaped = 0, ends = 0;
	pthread_t th;

	while ((c = getopt(argc, argv, "sfk:p:")) != -1) {
		if (c == 's')
			prctl(PR_SET_CHILD_SUBREAPER, 1);
		else if (c == 'f')
			flip = 1;
		else if (c == 'k')
			kind = optarg;
		else if (c == 'p' && (procs = atoi(optarg)) >= 1 && procs <= MAXP)
			continue;
		else
			goto usage;
	}
	mib = optind < argc ? strtoul(argv[optind], NULL, 10) : 64;
	n = optind + 1 < argc ? atoi(argv[optind + 1]) : 1;
	if (optind + 2 < argc || !mib || n < 1 || n > MAXT)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	signal(SIGCHLD, on_chld);
	nwriters = n;
	ckpt_hook(on_restore, NULL);
	per = (mib << 20) / n & ~(size_t)4095;
	printf("pid %d\n", (int)getpid());
	for (t = 1; t < procs; t++) {
		if ((kids[nkids] = fork()) == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			child = 1;
			nkids = 0;
			break;
		}
		nkids++;
	}
	for (t = 0; t < n; t++) {
		writers[t] = (struct writer){ .w = slice_map(kind, t, per), .n = per / 8, .id = t };
		if (!writers[t].w)
			return perror(kind), 1;
		if (pthread_create(&th, NULL, write_on, &writers[t]))
			return perror("pthread_create"), 1;
	}
	if (flip && pthread_create(&th, NULL, flip_on, &per))
		return perror("pthread_create"), 1;
	if (!child)
		printf("ready cowsum mib=%zu threads=%d kind=%s procs=%d\n", mib, n, kind, procs);
	while (!want_exit) {
		nanosleep(&nap, NULL);
		watch(n, child, &reaped, &ends);
	}
	if (kids_end())
		return 1;
	printf("%sdone ok passes=%" PRIu64 " restored=%" PRIu64 "\n", child ? "child " : "",
	       slowest(n), at_restore ? slowest(n) + 1 - at_restore : 0);
	return 0;
usage:
	fprintf(stderr, "usage: cowsum [-s] [-f] [-k KIND] [-p PROCS] [MIB [NTHREADS]]\n");
	return 2;
}
