/* cowguess.c - smaps read before the freeze, checked while frozen and
 * against the snapshot (cowguess.h) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cowguess.h"
#include "err.h"
#include "io.h"
#include "job.h"
#include "kproc.h"

int cow_guess_take(pid_t pid, int *stat_fd)
{
	char path[32], *text = NULL;
	int dir, fd = -1, mfd = -1;
	size_t len = 0;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	*stat_fd = -1;
	if ((dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	*stat_fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	if (*stat_fd >= 0 && (fd = openat(dir, "smaps", O_RDONLY | O_CLOEXEC)) >= 0)
		text = read_fd_all(fd, &len);
	if (text && (mfd = memfd_create("ckpt-smaps-guess", MFD_CLOEXEC)) >= 0 &&
	    (write_all(mfd, text, len) < 0 || lseek(mfd, 0, SEEK_SET) < 0)) {
		close(mfd);
		mfd = -1;
	}
	if (mfd < 0 && *stat_fd >= 0) {
		close(*stat_fd);
		*stat_fd = -1;
	}
	if (fd >= 0)
		close(fd);
	close(dir);
	free(text);
	return mfd;
}

/* every other guess of g, from the first */
struct guess_half {
	struct cow_guesses *g;
	unsigned first;
};

static void *guesses_half(void *arg)
{
	struct guess_half *h = arg;
	unsigned i;

	for (i = h->first; i < h->g->n; i += 2)
		h->g->v[i].fd = cow_guess_take(h->g->v[i].pid, &h->g->v[i].stat_fd);
	return NULL;
}

/* A job's guesses are read by two threads, each every other one: the
 * walks of different processes' pages go on two cores (a job of sh
 * and three processes of 341 MiB, load 5-6: 11.0 ms rather than 15.0,
 * medians of 9) */
void cow_guesses_take(struct cow_guesses *g, pid_t root)
{
	struct guess_half odd = { g, 1 }, even = { g, 0 };
	unsigned i, k, n;
	pthread_t th;
	int two;
	pid_t *c;

	g->n = 0;
	g->v[g->n++].pid = root;
	for (i = 0; i < g->n; i++) {   /* breadth first: the list grows */
		c = children_of(g->v[i].pid, &n);
		for (k = 0; k < n && g->n < COW_GUESSES_MAX; k++)
			g->v[g->n++].pid = c[k];
		free(c);
	}
	two = g->n > 1 && pthread_create(&th, NULL, guesses_half, &odd) == 0;
	guesses_half(&even);
	if (two)
		pthread_join(th, NULL);
	else   /* no second thread: in this one */
		guesses_half(&odd);
	for (i = k = 0; i < g->n; i++)
		if (g->v[i].fd >= 0)
			g->v[k++] = g->v[i];
	g->n = k;
}

int cow_guess_of(const struct cow_guesses *g, const struct kproc *k)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].pid == k->pid)
			return lseek(g->v[i].stat_fd, 0, SEEK_SET) == 0 && kproc_is(k, g->v[i].stat_fd) ?
				g->v[i].fd : -1;
	return -1;
}

/* one region of a smaps text: its first line and its VmFlags codes */
struct sregion {
	const char *head, *flags;
	size_t headlen, flagslen;
	uint64_t start, end;
};

/* the next region of the text from *p, *p moved past it: 1, or 0 at
 * the end.  (VmFlags is a region's last line.) */
static int sregion_next(const char **p, struct sregion *r)
{
	const char *s = *p, *eol = NULL;
	uint64_t a, b;

	for (; s && *s; s = eol ? eol + 1 : NULL) {
		eol = strchr(s, '\n');
		if (smaps_head(s, &r->start, &r->end))
			break;
	}
	if (!s || !*s)
		return 0;
	r->head = s;
	r->headlen = eol ? (size_t)(eol - s) : strlen(s);
	r->flags = NULL;
	r->flagslen = 0;
	for (s = eol ? eol + 1 : NULL; s && *s && !smaps_head(s, &a, &b); s = eol ? eol + 1 : NULL) {
		eol = strchr(s, '\n');
		if (!strncmp(s, "VmFlags:", 8)) {
			r->flags = s + 8;
			r->flagslen = (eol ? eol : s + strlen(s)) - r->flags;
		}
	}
	*p = s;
	return 1;
}

/* the flags a fork does not copy to the child's regions: mlock's
 * (dup_mmap clears them) and userfaultfd's (unless the context asked
 * for fork events; the shim's dirty tracking does not) */
static int fork_clears(const char *c, size_t n)
{
	static const char *const codes[] = { "lo", "lf", "um", "uw", "ui" };
	size_t i;

	for (i = 0; n == 2 && i < sizeof codes / sizeof *codes; i++)
		if (!memcmp(c, codes[i], 2))
			return 1;
	return 0;
}

/* the next code of [*p, end) (all when all, else those a fork keeps):
 * its length, *c where it starts; 0 at the end */
static size_t code_next(const char **p, const char *end, const char **c, int all)
{
	size_t n;

	for (;;) {
		while (*p < end && **p == ' ')
			++*p;
		if (*p >= end)
			return 0;
		for (*c = *p; *p < end && **p != ' '; ++*p)
			;
		n = *p - *c;
		if (all || !fork_clears(*c, n))
			return n;
	}
}

static int has_code(const struct sregion *r, const char *code)
{
	const char *p = r->flags, *end = p ? p + r->flagslen : NULL, *c;
	size_t n;

	while (p && (n = code_next(&p, end, &c, 1)))
		if (n == 2 && !memcmp(c, code, 2))
			return 1;
	return 0;
}

/* the same flags, but those a fork clears */
static int flags_same(const struct sregion *a, const struct sregion *b)
{
	const char *p = a->flags, *q = b->flags, *ca, *cb;
	size_t na, nb;

	if (!p || !q)
		return 0;
	do {
		na = code_next(&p, a->flags + a->flagslen, &ca, 0);
		nb = code_next(&q, b->flags + b->flagslen, &cb, 0);
		if (na != nb || memcmp(ca, cb, na))
			return 0;
	} while (na);
	return 1;
}

int cow_guess_fits(const char *guess, const char *maps, size_t len, const char *status)
{
	const char *s = maps, *end = maps + len, *eol, *p = guess;
	uint64_t locked = 0;
	struct sregion g;
	char v[32];

	for (; s < end; s = eol + 1) {
		if (!(eol = memchr(s, '\n', end - s)))
			eol = end;
		if (!sregion_next(&p, &g) || g.headlen != (size_t)(eol - s) ||
		    memcmp(g.head, s, g.headlen))
			return 0;
		if (has_code(&g, "lo"))
			locked += (g.end - g.start) >> 10;
	}
	/* the lock of a whole region changes no maps line: the sum does */
	return !sregion_next(&p, &g) && status_value(status, "VmLck", v, sizeof v) &&
	       strtoull(v, NULL, 10) == locked;
}

/* the snapshot's smaps, read through /proc/SNAP once that is the
 * process whose stat_fd it is, and whose /proc directory has the
 * frozen process's owner (a copy of it has): its pid and its stat fd
 * are the shim's word, which must not make us (root) read the smaps of
 * another user's process */
static char *snap_smaps(pid_t pid, pid_t snap, int stat_fd, uid_t owner)
{
	struct kproc k = { .pid = snap, .pidfd = -1 };
	char path[32], *s = NULL;
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d", (int)snap);
	if ((k.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(k.dirfd, &st) < 0 || st.st_uid != owner ||
	    lseek(stat_fd, 0, SEEK_SET) < 0 || kproc_same(&k, stat_fd) < 0)
		warn("pid %d: its snapshot, pid %d: gone or not the snapshot", (int)pid, (int)snap);
	else if (!(s = kproc_read(&k, "smaps", NULL)))
		warn("pid %d: its snapshot, pid %d: smaps:", (int)pid, (int)snap);
	if (k.dirfd >= 0)
		close(k.dirfd);
	return s;
}

/* region r (its flags g in the guess) as the snapshot has it (c, the
 * snapshot's first region that ends past r's start, or none) */
static int region_agrees(const struct map_region *r, const struct sregion *g,
			 const struct sregion *c, int have)
{
	if (has_code(g, "dc"))   /* not copied: not there */
		return !have || c->start >= r->end;
	return have && c->start <= r->start && r->end <= c->end && flags_same(g, c);
}

int cow_guess_verify(pid_t pid, pid_t snap, int stat_fd, uid_t owner, const char *guess,
		     const struct map_region *reg, size_t nreg)
{
	char *text = snap_smaps(pid, snap, stat_fd, owner);
	const char *p = text, *q = guess;
	struct sregion g, c = { 0 };
	int have = 0, ok = 1;
	size_t i;

	if (!text)
		return -1;
	for (i = 0; ok && i < nreg && sregion_next(&q, &g); i++) {
		while ((!have || c.end <= reg[i].start) && (have = sregion_next(&p, &c)))
			;
		if (!(ok = region_agrees(&reg[i], &g, &c, have)))
			warn("pid %d: region %" PRIx64 "-%" PRIx64 ": its flags changed between the read of its smaps before the freeze (%.*s) and the snapshot (%.*s): not checkpointed; try again",
			     (int)pid, reg[i].start, reg[i].end, (int)g.flagslen, g.flags ? g.flags : "",
			     have && c.start < reg[i].end ? (int)c.flagslen : 7,
			     have && c.start < reg[i].end && c.flags ? c.flags : " absent");
	}
	if (ok && i != nreg)
		warn("pid %d: region %" PRIx64 "-%" PRIx64 ": not in its smaps read before the freeze",
		     (int)pid, reg[i].start, reg[i].end);
	free(text);
	return ok && i == nreg ? 0 : -1;
}

static void *check_run(void *arg)
{
	struct cow_check *c = arg;

	c->r = cow_guess_verify(c->pid, c->snap, c->stat_fd, c->owner, c->guess, c->reg, c->nreg);
	return NULL;
}

int cow_check_start(struct cow_check *c)
{
	int e = (c->guess = strdup(c->guess)) ? pthread_create(&c->th, NULL, check_run, c) : ENOMEM;

	if (e) {
		free(c->guess);
		return warnerr(-e, "pid %d: a thread to check its snapshot:", (int)c->pid), -1;
	}
	c->started = 1;
	return 0;
}

int cow_check_end(struct cow_check *c)
{
	if (!c->started)
		return 0;
	pthread_join(c->th, NULL);
	free(c->guess);
	c->started = 0;
	return c->r;
}
