/* ckpt-thaw - a raw (or compressed) stream back to a running process:
 * the process made with its old pid, its fds in place, then the
 * restorer exec'd in it with a plan and the pages (doc/restore.md).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "fdplan.h"
#include "image.h"
#include "io.h"
#include "maps.h"
#include "memplan.h"
#include "pidused.h"
#include "plan.h"
#include "rules.h"
#include "selfdir.h"
#include "spawn.h"
#include "stream.h"
#include "timers.h"

static const char usage_str[] =
	"ckpt-thaw [--stdin PATH] [--same-ns] [--files-rules PATH] [--trust-image] [IMAGE]";

static const struct option options[] = {
	{ "stdin", required_argument, NULL, 'i' },
	{ "same-ns", no_argument, NULL, 's' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "trust-image", no_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define PID_WAIT_MS 3000   /* an id held by a dying or zombie process */
#define KILL_WAIT_MS 5000  /* for the image's own process, to be killed */

struct thaw {
	struct stream st;
	struct fd_attach attach;
	int same_ns, newns, userns; /* restore in a new pid (and user) ns */
	const char *rules_path;    /* --files-rules: restart paths */
	struct rules rules;
	int setcreds;              /* root restoring another uid's process */
	int trust_image;           /* --trust-image: root takes its ids */
	int vouched;               /* creds_vouch passed */
	struct img_manifest man;
	struct img_core core;
	struct img_thread *thr;
	unsigned nthr;
	struct plan_timer *timers;
	unsigned ntimers;
	struct fdplan fds;
	struct memplan mem;
	int have;                  /* bits: which members were read */
	pid_t child;               /* the restored process (or the reaper) */
	int hold;                  /* 1: read the whole stream first, the pages
	                            * into held (pages_hold) */
	int held;                  /* a memfd with the page data, or -1 */
	unsigned long long oom_kills; /* the kernel's count when we spawned */
	int plan_w, status_r;
	char restorer[4096];
};

/* in the order of member_names */
enum { HAVE_CORE = 1, HAVE_THREADS = 2, HAVE_FDS = 4, HAVE_MAPS = 8,
       HAVE_MAPFILES = 16, HAVE_PAGEMAP = 32,
       HAVE_VMFLAGS = 64,       /* not in older images: not required */
       HAVE_TIMERS = 128,       /* only when the process has POSIX timers */
       HAVE_ALL = 63 };

static struct thaw thaw;

/* CKPT_TIMING=1: where the time goes, on stderr (bench/restore) */
static struct {
	int on;
	uint64_t start, last;
	uint64_t read_ns, write_ns, splice_ns;   /* inside pages_feed */
} tm;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void timing_init(void)
{
	const char *e = getenv("CKPT_TIMING");

	tm.on = e && *e && strcmp(e, "0") != 0;
	tm.start = tm.last = mono_ns();
}

/* one phase done: its length, and the time since ckpt-thaw started */
static void phase(const char *what)
{
	uint64_t now;

	if (!tm.on)
		return;
	now = mono_ns();
	fprintf(stderr, "ckpt-thaw: timing %-44s %9.3f ms  (at %9.3f ms)\n", what,
		(now - tm.last) / 1e6, (now - tm.start) / 1e6);
	tm.last = now;
}

/* what the reading made: freed at exit, so that ASan's leak check
 * covers it (fdplan_free also closes the fds ckpt-thaw held) */
static void thaw_free(struct thaw *t)
{
	free(t->thr);
	free(t->timers);
	fdplan_free(&t->fds);
	memplan_free(&t->mem);
	rules_free(&t->rules);
	t->thr = NULL;
	t->nthr = 0;
}

/* kill what was made, and go: a bad image leaves no process behind */
static _Noreturn void abandon(struct thaw *t)
{
	if (t->child > 0) {
		kill(t->child, SIGKILL);
		waitpid(t->child, NULL, 0);
	}
	exit(1);
}

/* the current member as a string, or NULL after a message */
static char *member_text(struct thaw *t, size_t max)
{
	size_t len;
	char *s = stream_slurp(&t->st, max, &len);

	if (s && strlen(s) != len) {
		warn("member %s: a NUL byte in a text member", t->st.name);
		free(s);
		return NULL;
	}
	return s;
}

/* 0, or -1 after a message (so are the readers below, up to spawn) */
static int manifest_read(struct thaw *t)
{
	struct utsname u;
	char *text;
	int r;

	if ((r = stream_next(&t->st)) <= 0) {
		if (r == 0)
			warn("%s: empty stream", t->st.what);
		return -1;
	}
	if (strcmp(t->st.name, "ckpt/manifest"))
		return warn("%s: not a ckpt image (first member %s)", t->st.what, t->st.name), -1;
	if (!(text = member_text(t, 1 << 20)))
		return -1;
	r = manifest_parse(text, t->st.name, &t->man);
	free(text);
	if (r < 0)
		return -1;
	if (t->man.version > IMAGE_VERSION)
		return warn("image version %d, this ckpt-thaw reads up to %d", t->man.version,
			    IMAGE_VERSION), -1;
	uname(&u);
	if (strcmp(t->man.arch, "x86_64") || strcmp(u.machine, "x86_64"))
		return warn("image for %s, this machine is %s", t->man.arch, u.machine), -1;
	if (strcmp(t->man.kernel, u.release))
		return warn("image from kernel %s, this is %s: the vDSO differs", t->man.kernel,
			    u.release), -1;
	if (t->man.nprocs > 1)
		return warn("image of %u processes: process trees are not restored yet",
			    t->man.nprocs), -1;
	return 0;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static unsigned long long cpu_xcr0(void)
{
	unsigned a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (unsigned long long)hi << 32 | lo;
}

/* our own vDSO must be the image's: same bytes, same size */
static int machine_check(struct thaw *t)
{
	size_t len, n, bad;
	char *maps = read_file("/proc/self/maps", &len);
	struct map_region *r = NULL;
	const struct map_region *v;
	uint64_t h = 0;

	if (maps && maps_parse(maps, len, &r, &n, &bad) == 0 && (v = maps_find(r, n, "[vdso]")))
		h = fnv1a((const unsigned char *)(uintptr_t)v->start, v->end - v->start);
	free(r);
	free(maps);
	if (!t->core.seen_vdso || h != t->core.vdso_hash)
		return warn("pid %d: the vDSO differs from the checkpoint's (hash 0x%016" PRIx64
			    ", here 0x%016" PRIx64 ")", t->core.pid, t->core.vdso_hash, h), -1;
	if (t->core.xcr0 != cpu_xcr0())
		return warn("pid %d: the CPU's xsave features differ (xcr0 0x%" PRIx64
			    ", here 0x%llx)", t->core.pid, t->core.xcr0, cpu_xcr0()), -1;
	return 0;
}

static int threads_check(struct thaw *t)
{
	unsigned i, main = 0;

	for (i = 0; i < t->nthr; i++) {
		main += t->thr[i].tid == t->core.pid;
		if (!t->thr[i].park.rip || !t->thr[i].park.rsp || !t->thr[i].fs)
			return warn("member proc/%d/threads: thread %d has no park or fs",
				    t->core.pid, t->thr[i].tid), -1;
	}
	if (main != 1)
		return warn("member proc/%d/threads: no record for the main thread", t->core.pid), -1;
	return 0;
}

static const char *const member_names[] = { "core", "threads", "fds", "maps", "mapfiles", "pagemap",
					     "vmflags", "timers" };

/* the HAVE_ bit of a text member sub, or 0 for one we skip */
static int member_bit(const char *sub)
{
	unsigned i;

	for (i = 0; i < sizeof member_names / sizeof *member_names; i++)
		if (!strcmp(sub, member_names[i]))
			return 1 << i;
	return 0;
}

/* each member once, and after the one it builds on: fds after core
 * and threads (whose file work they are, checked against who vouches
 * for the image before any: creds_vouch), files/, pipes/ and socks/
 * after fds, mapfiles and pagemap after maps */
static int member_order(struct thaw *t, int pid, int bit)
{
	int need = bit & (HAVE_MAPFILES | HAVE_PAGEMAP | HAVE_VMFLAGS) ? HAVE_MAPS :
		   bit & (HAVE_FDS | HAVE_TIMERS) ? HAVE_CORE | HAVE_THREADS : !bit ? HAVE_FDS : 0;

	if (bit & t->have)
		return warn("member %s: a second one in the image", t->st.name), -1;
	if (need & ~t->have)
		return warn("member %s: comes before proc/%d/%s", t->st.name, pid,
			    member_names[__builtin_ctz(need & ~t->have)]), -1;
	t->have |= bit;
	return 0;
}

/* What the image claims, against who vouches for it (doc/design.md,
 * Trust): once the core and threads are read, before any file work,
 * which is done as the core's ids.  0, or -1 after a message. */
static int creds_vouch(struct thaw *t)
{
	if (t->vouched)
		return 0;
	if ((t->have & (HAVE_CORE | HAVE_THREADS)) != (HAVE_CORE | HAVE_THREADS))
		return warn("member %s: before the core and threads members", t->st.name), -1;
	threads_creds_default(&t->core, t->thr, t->nthr);
	if (!t->trust_image && creds_trust(&t->core, t->thr, t->nthr,
					   t->attach.from_file ? t->st.fd : 0, t->st.what) < 0)
		return -1;
	t->vouched = 1;
	return 0;
}

/* one member of proc/PID/: 1 when it was pages (stop there), 0, -1 */
static int proc_member(struct thaw *t, int pid, const char *sub)
{
	int r = 0, bit = member_bit(sub);
	char *text;

	if (!strcmp(sub, "pages"))
		return 1;
	if (!strncmp(sub, "files/", 6) || !strncmp(sub, "pipes/", 6) || !strncmp(sub, "socks/", 6))
		return member_order(t, pid, 0) < 0 || creds_vouch(t) < 0 ? -1 :
		       fdplan_data(&t->fds, pid, sub, &t->st);
	if (!bit)
		return 0;  /* unknown: skipped by stream_next */
	if (member_order(t, pid, bit) < 0 || (bit == HAVE_FDS && creds_vouch(t) < 0) ||
	    !(text = member_text(t, 256 << 20)))
		return -1;
	if (bit == HAVE_CORE) {
		r = core_parse(text, t->st.name, &t->core);
		if (r == 0 && t->core.pid != pid)
			r = -1, warn("member %s: pid %d", t->st.name, t->core.pid);
	} else if (bit == HAVE_THREADS) {
		r = threads_parse(text, t->st.name, &t->thr, &t->nthr);
	} else if (bit == HAVE_FDS) {
		if ((r = fdplan_parse(&t->fds, pid, text)) == 0)
			fdplan_bind(&t->fds, &t->core, &t->mem);
	} else if (bit == HAVE_MAPS) {
		r = memplan_maps(&t->mem, pid, text, strlen(text));
	} else if (bit == HAVE_MAPFILES) {
		r = memplan_mapfiles(&t->mem, pid, text);
	} else if (bit == HAVE_VMFLAGS) {
		r = memplan_vmflags(&t->mem, pid, text);
	} else if (bit == HAVE_TIMERS) {
		r = timers_parse(text, t->st.name, t->thr, t->nthr, &t->timers, &t->ntimers);
	} else {
		r = memplan_pagemap(&t->mem, pid, text);
	}
	free(text);
	return r < 0 ? -1 : 0;
}

/* the members of one process, up to the header of its pages */
static int proc_read(struct thaw *t, int pid)
{
	char prefix[64];
	size_t n = snprintf(prefix, sizeof prefix, "proc/%d/", pid);
	int r;

	while ((r = stream_next(&t->st)) > 0) {
		if (strncmp(t->st.name, prefix, n))
			continue;
		if ((r = proc_member(t, pid, t->st.name + n)) != 0)
			break;
	}
	if (r < 0)
		return -1;
	if (r == 0)
		return warn("%s: truncated: process %d has no pages member", t->st.what, pid), -1;
	if ((t->have & HAVE_ALL) != HAVE_ALL)   /* the first member the pages came before */
		return warn("member %s: comes before proc/%d/%s", t->st.name, pid,
			    member_names[__builtin_ctz(~t->have & HAVE_ALL)]), -1;
	if (t->st.size != t->mem.run_bytes)
		return warn("member %s: %" PRIu64 " bytes, its pagemap says %" PRIu64, t->st.name,
			    t->st.size, t->mem.run_bytes), -1;
	if (memplan_check(&t->mem, pid) < 0 || threads_check(t) < 0)
		return -1;
	return machine_check(t);
}

/* every member before the pages, read and checked (nothing made yet):
 * 0, or -1 after a message */
static int image_read(struct thaw *t)
{
	if (manifest_read(t) < 0 || proc_read(t, t->man.root) < 0 || creds_vouch(t) < 0)
		return -1;
	if (t->rules_path && fdplan_rules(&t->fds, t->man.root, &t->rules) < 0)
		return -1;
	return 0;
}

/* the first of the process's ids in use, or 0: a holder that is
 * going away (a zombie, an exiting process) is waited for a moment; a
 * live one is not, it will not free the id */
static pid_t ids_taken(struct thaw *t, pid_t *holder)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	pid_t *ids, id = 0;
	unsigned i, waited;

	if (!(ids = calloc(t->nthr + 1, sizeof *ids)))
		die("out of memory");
	ids[0] = t->core.pid;
	for (i = 0; i < t->nthr; i++)
		ids[i + 1] = t->thr[i].tid;
	for (waited = 0; waited <= PID_WAIT_MS; waited += 20) {
		enum pid_use u = pids_used(ids, t->nthr + 1, &id, holder);

		if (u == PID_FREE)
			id = 0;
		if (u != PID_DYING)
			break;
		nanosleep(&ts, NULL);
	}
	free(ids);
	return id;
}

/* `ckpt-freeze --kill PID | ckpt-thaw`: the pid is still held by the
 * very process of the image (same start time), frozen, and the stream's
 * writer kills it once we have read the stream: worth waiting for */
static int held_by_itself(struct thaw *t, pid_t id, pid_t holder)
{
	struct stat st;

	return t->man.kill && t->held < 0 && id == t->core.pid && holder == id &&
	       t->core.starttime && pid_starttime(holder) == t->core.starttime &&
	       !t->attach.from_file && fstat(0, &st) == 0 && !S_ISREG(st.st_mode);
}

/* in this namespace with the old ids (root, and they are free), else in
 * a new one; again is 1 when an id was taken between the check and the
 * clone3 (another restore of the same image, say).  Or, when the pid's
 * holder is to be killed after the stream, first read it all (hold). */
static void ns_choose(struct thaw *t, int again)
{
	pid_t holder = 0, id = again ? t->core.pid : ids_taken(t, &holder);

	if (geteuid() == 0 && !id)
		return;
	if (geteuid() == 0 && !again && held_by_itself(t, id, holder)) {
		t->hold = 1;
		return;
	}
	if (t->same_ns) {
		if (again)
			warn("pid %d: taken meanwhile by another process (--same-ns)", t->core.pid);
		else if (id)
			warn("pid %d: id %d is taken in this pid namespace (--same-ns)", t->core.pid, id);
		else
			warn("pid %d: only root can choose pids in this namespace (--same-ns)", t->core.pid);
		abandon(t);
	}
	t->newns = 1;
	t->userns = geteuid() != 0;
}

/* root restores another uid's process as that uid */
static void creds_choose(struct thaw *t)
{
	const struct img_core *c = &t->core;
	unsigned i;

	if (t->userns || geteuid() != 0)
		return;
	for (i = 0; i < 4; i++)
		if (c->uid[i] || c->gid[i])
			t->setcreds = 1;
}

/* the kernel's count of OOM kills so far (/proc/vmstat), or 0 */
static unsigned long long oom_kills(void)
{
	unsigned long long n = 0;
	char line[128];
	FILE *f = fopen("/proc/vmstat", "re");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %llu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* the process, its fds moved in, the restorer exec'd in it */
static void spawn(struct thaw *t)
{
	struct spawn sp = { .core = &t->core, .fds = &t->fds, .restorer = t->restorer,
			    .newns = t->newns, .userns = t->userns, .setcreds = t->setcreds,
			    .lend = creds_lend(t->thr, t->nthr, t->userns) };
	int r;

	t->oom_kills = oom_kills();
	r = spawn_restorer(&sp);

	if (r == SPAWN_TAKEN) {   /* nothing made: try a new namespace */
		ns_choose(t, 1);
		sp.newns = t->newns;
		sp.userns = t->userns;
		r = spawn_restorer(&sp);
	}
	t->child = sp.child;
	t->plan_w = sp.plan_w;
	t->status_r = sp.status_r;
	if (r < 0)
		abandon(t);
}

/* the bit of signal sig in a pending mask; the freeze signal is never
 * raised again: a restored thread is not frozen */
static uint64_t sig_bit(int sig)
{
	return sig >= 1 && sig <= 64 ? 1ULL << (sig - 1) : 0;
}

/* the fds to mark FD_CLOEXEC: the plan's ncloexec */
static unsigned cloexec_count(const struct thaw *t)
{
	unsigned i, n = 0;

	for (i = 0; i < t->fds.n; i++)
		n += t->fds.v[i].cloexec != 0;
	return n;
}

static void plan_header(struct thaw *t, struct plan_hdr *h, uint64_t body)
{
	const struct img_core *c = &t->core;

	memset(h, 0, sizeof *h);
	h->magic = PLAN_MAGIC;
	h->version = PLAN_VERSION;
	h->hdr_size = sizeof *h;
	h->pid = c->pid;
	h->nregions = t->mem.nreg;
	h->nruns = t->mem.nrun;
	h->nthreads = t->nthr;
	h->flags = geteuid() == 0 || t->newns ? PLAN_F_EXE_FD : 0;
	if (!t->userns)
		h->flags |= PLAN_F_SET_IDS;
	h->body_size = body;
	h->pages_size = t->mem.run_bytes;
	h->mm = (struct plan_mm){ c->mm[0], c->mm[1], c->mm[2], c->mm[3], c->mm[4], c->brk,
				  c->mm[5], c->mm[6], c->mm[7], c->mm[8], c->mm[9] };
	memcpy(h->auxv, c->auxv, 2 * c->nauxv * sizeof *c->auxv);
	h->auxv_words = 2 * c->nauxv + 2;   /* the AT_NULL pair is zeros */
	h->umask = c->umask;
	h->dumpable = c->dumpable;
	memcpy(h->vvar, c->vvar, sizeof h->vvar);
	memcpy(h->vclock, c->vclock, sizeof h->vclock);
	memcpy(h->vdso, c->vdso, sizeof h->vdso);
	memcpy(h->rlimit, c->rlimit, sizeof h->rlimit);
	memcpy(h->sigaction, c->sigaction, sizeof h->sigaction);
	memcpy(h->itimer, c->itimer, sizeof h->itimer);
	h->sigpending = c->sigpending & ~sig_bit(c->freeze_sig);
	h->ncloexec = cloexec_count(t);
	if (!strstr(c->exe, " (deleted)"))
		snprintf(h->exe, sizeof h->exe, "%s", c->exe);
	h->hole_size = PLAN_TRAMP_SIZE + PLAN_VDSO_SLOT + PLAN_TSTACK_SIZE + PLAN_STACK_SIZE + PLAN_IMAGE_MAX +
		((body + 4095) & ~4095ULL);
	h->hole = memplan_hole(&t->mem, h->hole_size);
}

/* every thread's record, and after them the group ids they point to */
static int plan_threads(struct thaw *t)
{
	static const uint32_t pad;
	struct plan_thread pt;
	uint32_t *groups = NULL;
	unsigned i, ng = 0;
	int e = 0;

	for (i = 0; !e && i < t->nthr; i++) {
		pt = (struct plan_thread){ .tid = t->thr[i].tid, .role = t->thr[i].role,
					   .fs = t->thr[i].fs, .gs = t->thr[i].gs, .park = t->thr[i].park,
					   .sigpending = t->thr[i].sigpending & ~sig_bit(t->core.freeze_sig) };
		if (creds_plan(&t->thr[i], &pt.creds, &groups, &ng) < 0)
			die("out of memory");
		e = write_all(t->plan_w, &pt, sizeof pt);
	}
	if (!e && ng)
		e = write_all(t->plan_w, groups, ng * sizeof *groups);
	if (!e && ng % 2)
		e = write_all(t->plan_w, &pad, sizeof pad);
	free(groups);
	return e;
}

/* their numbers, padded to 8 bytes */
static int plan_cloexec(struct thaw *t)
{
	static const uint32_t pad;
	unsigned i, n = 0;
	uint32_t fd;
	int e = 0;

	for (i = 0; !e && i < t->fds.n; i++)
		if (t->fds.v[i].cloexec) {
			fd = t->fds.v[i].fd;
			e = write_all(t->plan_w, &fd, sizeof fd);
			n++;
		}
	if (!e && n % 2)
		e = write_all(t->plan_w, &pad, sizeof pad);
	return e;
}

/* all the group ids of all threads: the plan's ngroups */
static unsigned groups_count(const struct thaw *t)
{
	unsigned i, n = 0;

	for (i = 0; i < t->nthr; i++)
		n += t->thr[i].cr.ngroups;
	return n;
}

static void plan_write(struct thaw *t)
{
	static struct plan_hdr h;
	size_t rs = t->mem.nreg * sizeof *t->mem.reg, us = t->mem.nrun * sizeof *t->mem.run;
	size_t ts = t->nthr * sizeof(struct plan_thread), gs = (groups_count(t) * 4 + 7) & ~7UL;
	size_t cs = (cloexec_count(t) * 4 + 7) & ~7UL;
	size_t ps = t->ntimers * sizeof *t->timers;
	size_t body = rs + us + ts + gs + cs + ps + t->mem.strings_len;
	int e = 0;

	plan_header(t, &h, body);
	h.ngroups = groups_count(t);
	h.ntimers = t->ntimers;
	if (!h.hole) {
		warn("pid %d: no room for the restorer in the address space", t->core.pid);
		abandon(t);
	}
	e = write_all(t->plan_w, &h, sizeof h);
	if (!e)
		e = write_all(t->plan_w, t->mem.reg, rs);
	if (!e)
		e = write_all(t->plan_w, t->mem.run, us);
	if (!e)
		e = plan_threads(t);
	if (!e)
		e = plan_cloexec(t);
	if (!e && ps)
		e = write_all(t->plan_w, t->timers, ps);
	if (!e && t->mem.strings_len)
		e = write_all(t->plan_w, t->mem.strings, t->mem.strings_len);
	if (e < 0)
		t->plan_w = -1 - t->plan_w;   /* the restorer is gone: its status says why */
}

/* the page data, member to pipe: spliced from a raw stream's file (no
 * copy here), else read and written 1 MiB at a time */
static void pages_feed(struct thaw *t)
{
	static char buf[1 << 20];
	size_t n;
	ssize_t r;
	uint64_t t0, t1, t2;

	while (t->plan_w >= 0 && t->st.left) {
		t0 = tm.on ? mono_ns() : 0;
		r = stream_splice(&t->st, t->plan_w, t->st.left, &n);
		if (r < 0)
			t->plan_w = -1 - t->plan_w;
		if (r != 0) {
			tm.splice_ns += tm.on ? mono_ns() - t0 : 0;
			continue;
		}
		if (n == 0 || n > sizeof buf || n > t->st.left)
			n = t->st.left < sizeof buf ? t->st.left : sizeof buf;
		if (stream_read(&t->st, buf, n) < 0)
			abandon(t);
		t1 = tm.on ? mono_ns() : 0;
		if (write_all(t->plan_w, buf, n) < 0)
			t->plan_w = -1 - t->plan_w;
		t2 = tm.on ? mono_ns() : 0;
		tm.read_ns += t1 - t0;
		tm.write_ns += t2 - t1;
	}
}

/* when the process runs, on the wall clock: for a caller's own t0 */
static void running_at(void)
{
	struct timespec ts;

	if (!tm.on)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "ckpt-thaw: timing running at epoch_ns %lld%09ld\n",
		(long long)ts.tv_sec, ts.tv_nsec);
}

static void pages_timing(void)
{
	if (!tm.on)
		return;
	fprintf(stderr, "ckpt-thaw: timing   of which: splice file to pipe  %9.3f ms"
		"  (waits for the restorer: faults, copy)\n"
		"ckpt-thaw: timing   of which: reading the stream   %9.3f ms\n"
		"ckpt-thaw: timing   of which: writing the pipe     %9.3f ms"
		"  (waits for the restorer: faults, copy)\n",
		tm.splice_ns / 1e6, tm.read_ns / 1e6, tm.write_ns / 1e6);
}

static const char *const step_what[PLAN_ST_COUNT] = {
	[PLAN_ST_OK] = "done", [PLAN_ST_ARGS] = "bad plan", [PLAN_ST_PLAN] = "read the plan",
	[PLAN_ST_PID] = "running as another pid", [PLAN_ST_HOLE] = "map its room at",
	[PLAN_ST_MOVE] = "move itself", [PLAN_ST_CLEAR] = "unmap its old image at",
	[PLAN_ST_MAP] = "map the region at", [PLAN_ST_OPEN] = "open the file of the region at",
	[PLAN_ST_FILE_CHANGED] = "the file changed under the region at",
	[PLAN_ST_PAGES] = "read pages into", [PLAN_ST_SHORT] = "page data ended at",
	[PLAN_ST_PROTECT] = "set the protection of the region at",
	[PLAN_ST_VDSO] = "move the vDSO to", [PLAN_ST_VDSO_LAYOUT] = "the vDSO layout differs at",
	[PLAN_ST_RLIMIT] = "set the rlimit", [PLAN_ST_MM] = "set the mm fields (PR_SET_MM_MAP)",
	[PLAN_ST_EXE_WARN] = "set /proc/PID/exe (it names the restorer)",
	[PLAN_ST_SIGACTION] = "set the action of signal", [PLAN_ST_ITIMER] = "set the itimer",
	[PLAN_ST_FDFLAGS] = "set FD_CLOEXEC on fd", [PLAN_ST_TLS] = "set the thread pointer",
	[PLAN_ST_THREAD] = "start the thread", [PLAN_ST_GO] = "wait for the go",
	[PLAN_ST_IDS] = "set the uids, gids and groups of thread",
	[PLAN_ST_CAPSET] = "set the capabilities of thread",
	[PLAN_ST_SECUREBITS] = "set the securebits of thread",
	[PLAN_ST_NNP] = "set no_new_privs of thread",
	[PLAN_ST_VMFLAGS] = "set the flags (madvise, mlock) of the region at",
	[PLAN_ST_TIMER] = "make the POSIX timer",
	[PLAN_ST_TIMER_ID] = "the kernel has no PR_TIMER_CREATE_RESTORE_IDS and gave another id to POSIX timer",
};

/* how a step's addr field reads: a number, an address, or nothing */
static const char *addr_text(int step, uint64_t addr, char *buf, size_t len)
{
	switch (step) {
	case PLAN_ST_RLIMIT: case PLAN_ST_SIGACTION: case PLAN_ST_ITIMER:
	case PLAN_ST_FDFLAGS: case PLAN_ST_THREAD: case PLAN_ST_PID:
	case PLAN_ST_IDS: case PLAN_ST_CAPSET: case PLAN_ST_SECUREBITS: case PLAN_ST_NNP:
	case PLAN_ST_TIMER: case PLAN_ST_TIMER_ID:
		snprintf(buf, len, " %" PRIu64, addr);
		break;
	case PLAN_ST_ARGS: case PLAN_ST_PLAN: case PLAN_ST_MOVE: case PLAN_ST_MM:
	case PLAN_ST_EXE_WARN: case PLAN_ST_GO:
		buf[0] = 0;
		break;
	default:
		snprintf(buf, len, " 0x%" PRIx64, addr);
	}
	return buf;
}

/* The restorer ended without a word: say how, from its status (the
 * reaper passes a signal on as 128+N).  A SIGKILL while the kernel's
 * count of OOM kills went up was the OOM killer, most likely. */
static void restorer_gone(struct thaw *t)
{
	int st, sig = 0;

	if (t->child <= 0 || waitpid(t->child, &st, 0) != t->child) {
		warn("pid %d: the restorer died before it was done", t->core.pid);
		return;
	}
	t->child = 0;
	if (WIFSIGNALED(st))
		sig = WTERMSIG(st);
	else if (t->newns && WEXITSTATUS(st) > 128)
		sig = WEXITSTATUS(st) - 128;
	if (!sig)
		warn("pid %d: the restorer exited with status %d before it was done",
		     t->core.pid, WEXITSTATUS(st));
	else if (sig == SIGKILL && oom_kills() > t->oom_kills)
		warn("pid %d: the restorer was killed by SIGKILL: out of memory (the kernel's OOM killer)",
		     t->core.pid);
	else
		warn("pid %d: the restorer was killed by signal %d (SIG%s)", t->core.pid, sig,
		     sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

/* the restorer's reports: 0 when it said OK, else -1 after a message */
static int status_read(struct thaw *t)
{
	struct plan_status st;
	const char *what;
	char at[32];
	ssize_t n;

	while ((n = read_all(t->status_r, &st, sizeof st)) == sizeof st) {
		if (st.step == PLAN_ST_OK)
			return 0;
		what = st.step > 0 && st.step < PLAN_ST_COUNT && step_what[st.step] ?
		       step_what[st.step] : "step";
		addr_text(st.step, st.addr, at, sizeof at);
		errno = -st.err;
		if (st.step == PLAN_ST_THREAD && st.err == -EEXIST)
			warn("pid %d: restorer: thread %s: its id was taken meanwhile by another process",
			     t->core.pid, at + 1);
		else if (st.err)
			warn("pid %d: restorer: %s%s:", t->core.pid, what, at);
		else
			warn("pid %d: restorer: %s%s", t->core.pid, what, at);
		if (st.step != PLAN_ST_EXE_WARN && st.step != PLAN_ST_RLIMIT)
			return -1;
	}
	restorer_gone(t);
	return -1;
}

/* the rest of the stream must be there, trailer included, before the
 * process may run */
static void stream_finish(struct thaw *t)
{
	int r;

	while ((r = stream_next(&t->st)) > 0)
		;
	if (r < 0)
		abandon(t);
}

/* The pid's holder is the image's own process, which the stream's
 * writer kills once we have read the stream (ckpt-freeze --kill, and
 * it closes the stream only when the pid is free): the pages into a
 * memfd, the rest of the stream, then wait for the process to go
 * (pidfd, bounded) and choose the namespace again. */
static void pages_hold(struct thaw *t)
{
	int pidfd = syscall(SYS_pidfd_open, t->core.pid, 0);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	t->hold = 0;
	if (pidfd < 0 || pid_starttime(t->core.pid) != t->core.starttime ||
	    (t->held = memfd_create("ckpt-thaw pages", MFD_CLOEXEC)) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		ns_choose(t, 0);   /* gone meanwhile, or no memfd */
		return;
	}
	t->plan_w = t->held;
	pages_feed(t);
	if (t->plan_w < 0)
		die("pid %d: keep the pages in memory until the pid is free:", t->core.pid);
	stream_finish(t);
	phase("read the stream, the pages into memory");
	while (poll(&p, 1, KILL_WAIT_MS) < 0 && errno == EINTR)
		;
	close(pidfd);
	ns_choose(t, 0);
	phase("wait for the old process to go");
}

/* the held page data, memfd to pipe */
static void held_feed(struct thaw *t)
{
	loff_t off = 0;
	ssize_t n;

	while (t->plan_w >= 0 && (uint64_t)off < t->mem.run_bytes) {
		n = splice(t->held, &off, t->plan_w, NULL, t->mem.run_bytes - off, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			t->plan_w = -1 - t->plan_w;
	}
	close(t->held);
}

static void go(struct thaw *t)
{
	uint64_t g = PLAN_GO;

	if (t->plan_w < 0 || write_all(t->plan_w, &g, sizeof g) < 0) {
		status_read(t);
		abandon(t);
	}
	close(t->plan_w);
	if (status_read(t) < 0)
		abandon(t);
	close(t->status_r);
}

static void forward(int sig)
{
	if (thaw.child > 0)
		kill(thaw.child, sig);
}

static int child_wait(struct thaw *t)
{
	int st;

	signal(SIGINT, SIG_IGN);   /* the terminal signals the job itself */
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	while (waitpid(t->child, &st, 0) < 0)
		if (errno != EINTR)
			die("wait for pid %d:", t->child);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void restorer_find(struct thaw *t)
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

int main(int argc, char **argv)
{
	struct thaw *t = &thaw;
	int c;

	prog_init(argv);
	timing_init();
	t->held = -1;
	while ((c = getopt_long(argc, argv, "+i:sr:Th", options, NULL)) != -1) {
		switch (c) {
		case 'i': t->attach.stdin_path = optarg; break;
		case 's': t->same_ns = 1; break;
		case 'r': t->rules_path = optarg; break;
		case 'T': t->trust_image = 1; break;
		case 'h': printf("usage: %s\n", usage_str); return 0;
		default: usage_die(usage_str);
		}
	}
	if (argc - optind > 1) {
		warn("one image at a time: for a chain, ckpt-unpack BASE INC... | ckpt-thaw");
		usage_die(usage_str);
	}
	if (t->attach.stdin_path && access(t->attach.stdin_path, R_OK) < 0)
		die("--stdin %s:", t->attach.stdin_path);
	restorer_find(t);
	/* a bad rules file is found before anything is read or made */
	if (t->rules_path && rules_load(&t->rules, t->rules_path) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	t->attach.from_file = optind < argc;
	if (!t->attach.from_file && isatty(0)) {
		warn("no image: name a file, or pipe the stream in");
		usage_die(usage_str);
	}
	if (stream_open(&t->st, t->attach.from_file ? argv[optind] : NULL, 0,
			t->attach.from_file ? argv[optind] : "stdin") < 0)
		return 1;
	if (image_read(t) < 0) {
		thaw_free(t);
		return 1;
	}
	phase("read and check the members before the pages");
	ns_choose(t, 0);
	if (t->hold)
		pages_hold(t);
	creds_choose(t);
	if (creds_can(&t->core, t->thr, t->nthr, t->userns) < 0)
		abandon(t);
	if (fdplan_open(&t->fds, t->core.pid, &t->attach) < 0)
		abandon(t);
	phase("choose namespaces, open the fds");
	spawn(t);
	phase("spawn the restorer (clone3, exec)");
	plan_write(t);
	phase("write the plan (restorer: move, clear, map)");
	if (t->held >= 0) {
		held_feed(t);
		phase("feed the pages from memory");
	} else {
		pages_feed(t);
		phase("feed the pages");
		pages_timing();
		stream_finish(t);
		phase("read the rest of the stream");
	}
	if (fdplan_commit(&t->fds, t->core.pid) < 0)
		abandon(t);
	phase("put the saved files in place");
	go(t);
	phase("go: protections, vDSO, mm, threads, OK");
	running_at();
	stream_close(&t->st);
	c = child_wait(t);
	thaw_free(t);
	return c;
}
