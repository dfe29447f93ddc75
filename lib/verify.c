/* verify.c - the restored job against its image (verify.h).  Reads
 * /proc of each restored process (through its pid in ckpt-thaw's
 * namespace: in a new pid namespace, the one whose NSpid ends in the
 * image's pid) and compares what the image's core, threads, maps and
 * fds members say.  What moves as the job runs (offsets, times, pages)
 * is not compared. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kproc.h"
#include "restorable.h"
#include "thawjob.h"
#include "verify.h"

static int say;       /* the last round: each difference said */
static int ndiff;

static void differ(pid_t pid, const char *what, const char *img, const char *live)
{
	ndiff++;
	if (say)
		warn("verify: pid %d: %s: image %s, live %s", (int)pid, what, img,
		     live ? live : "(none)");
}

static void same(pid_t pid, const char *what, const char *img, const char *live)
{
	if (!live || strcmp(img, live))
		differ(pid, what, img, live);
}

/* /proc/L/SUB, its last newline cut; NULL if unreadable */
static char *proc_text(pid_t l, const char *sub, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)l, sub);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return buf;
}

static char *proc_link(pid_t l, const char *sub, char *buf, size_t len)
{
	char path[256];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)l, sub);
	if ((n = readlink(path, buf, len - 1)) < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/* /proc/L/task/T/status, in a static buffer */
static char *task_status(pid_t l, pid_t t)
{
	static char text[8192];
	char sub[64];

	snprintf(sub, sizeof sub, "task/%d/status", (int)t);
	return proc_text(l, sub, text, sizeof text);
}

/* the value of KEY in /proc/L/task/T/status, tabs made spaces */
static char *status_of(pid_t l, pid_t t, const char *key, char *buf, size_t len)
{
	const char *status = task_status(l, t);

	return status ? (char *)status_value(status, key, buf, len) : NULL;
}

/* the innermost id of KEY (NSpgid, NSsid) of process l, or -1 */
static long inner_id(pid_t l, const char *key)
{
	const char *status = task_status(l, l);

	return status ? status_inner_id(status, key, NULL) : -1;
}

/* In a new pid namespace: the entry of DIR (/proc, /proc/L/task)
 * whose NSpid ends in id, in the namespace of ns (a /proc/N/ns/pid
 * target; NULL: any).  0 if none. */
static pid_t ns_find(const char *dir, pid_t base, const char *ns, pid_t id)
{
	char link[64], *status;
	struct dirent *e;
	pid_t found = 0, n;
	DIR *d = opendir(dir);

	while (d && !found && (e = readdir(d))) {
		if ((n = atoi(e->d_name)) <= 0)
			continue;
		if (!(status = task_status(base ? base : n, n)) ||
		    status_inner_id(status, "NSpid", NULL) != id)
			continue;
		if (ns && (!proc_link(n, "ns/pid", link, sizeof link) || strcmp(link, ns)))
			continue;
		found = n;
	}
	if (d)
		closedir(d);
	return found;
}

static pid_t live_pid(const struct thaw_job *t, pid_t pid)
{
	char ns[64];

	if (!t->newns)
		return pid;
	if (!proc_link(t->tree.child, "ns/pid", ns, sizeof ns))
		return 0;
	return ns_find("/proc", 0, ns, pid);
}

static pid_t live_tid(const struct thaw_job *t, pid_t l, pid_t tid)
{
	char dir[64];

	if (!t->newns)
		return tid;
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)l);
	return ns_find(dir, l, NULL, tid);
}

/* --- credentials, per thread --- */

static int num_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* the groups as /proc writes them: ascending, a space after each */
static void groups_text(const struct img_creds *c, char *buf, size_t len)
{
	unsigned g[IMAGE_GROUPS_MAX], i;
	size_t o = 0;

	memcpy(g, c->groups, c->ngroups * sizeof *g);
	qsort(g, c->ngroups, sizeof *g, num_cmp);
	buf[0] = 0;
	for (i = 0; i < c->ngroups && o < len; i++)
		o += snprintf(buf + o, len - o, "%u ", g[i]);
	if (o && o < len)
		buf[o - 1] = 0;   /* the status line's last space was cut */
}

static void creds_check(pid_t pid, pid_t l, pid_t lt, pid_t tid, const struct img_creds *c)
{
	static const char *const capname[5] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char want[4096], live[4096], what[64];
	int i;

	snprintf(want, sizeof want, "%u %u %u %u", c->uid[0], c->uid[1], c->uid[2], c->uid[3]);
	snprintf(what, sizeof what, "thread %d uids", (int)tid);
	same(pid, what, want, status_of(l, lt, "Uid", live, sizeof live));
	snprintf(want, sizeof want, "%u %u %u %u", c->gid[0], c->gid[1], c->gid[2], c->gid[3]);
	snprintf(what, sizeof what, "thread %d gids", (int)tid);
	same(pid, what, want, status_of(l, lt, "Gid", live, sizeof live));
	groups_text(c, want, sizeof want);
	snprintf(what, sizeof what, "thread %d groups", (int)tid);
	same(pid, what, want, status_of(l, lt, "Groups", live, sizeof live));
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof want, "%016" PRIx64, c->cap[i]);
		snprintf(what, sizeof what, "thread %d %s", (int)tid, capname[i]);
		same(pid, what, want, status_of(l, lt, capname[i], live, sizeof live));
	}
	snprintf(want, sizeof want, "%d", c->nnp);
	snprintf(what, sizeof what, "thread %d no_new_privs", (int)tid);
	same(pid, what, want, status_of(l, lt, "NoNewPrivs", live, sizeof live));
}

static void threads_check(const struct thaw_job *t, const struct img_proc *p, pid_t l)
{
	char want[32], live[64];
	unsigned i;
	pid_t lt;

	for (i = 0; i < p->nthr; i++) {
		if (!(lt = live_tid(t, l, p->thr[i].tid)) ||
		    !status_of(l, lt, "Uid", live, sizeof live)) {
			snprintf(want, sizeof want, "%d", (int)p->thr[i].tid);
			differ(p->core.pid, "thread", want, NULL);
			continue;
		}
		creds_check(p->core.pid, l, lt, p->thr[i].tid, &p->thr[i].cr);
	}
	snprintf(want, sizeof want, "%u", p->nthr);
	same(p->core.pid, "threads", want, status_of(l, l, "Threads", live, sizeof live));
}

/* --- the process: its core --- */

/* SigIgn and SigCgt, from the recorded actions */
static void sigs_check(const struct img_core *c, pid_t l)
{
	uint64_t ign = 0, cgt = 0;
	char want[32], live[64];
	int i;

	for (i = 0; i < 64; i++)
		if (c->sigaction[i].handler == 1)
			ign |= 1ULL << i;
		else if (c->sigaction[i].handler > 1)
			cgt |= 1ULL << i;
	snprintf(want, sizeof want, "%016" PRIx64, ign);
	same(c->pid, "ignored signals", want, status_of(l, l, "SigIgn", live, sizeof live));
	snprintf(want, sizeof want, "%016" PRIx64, cgt);
	same(c->pid, "caught signals", want, status_of(l, l, "SigCgt", live, sizeof live));
}

static void rlimits_check(const struct img_core *c, pid_t l)
{
	struct rlimit r;
	char want[64], live[64], what[32];
	int i;

	for (i = 0; i < 16; i++) {
		if (prlimit(l, i, NULL, &r) < 0)
			continue;
		snprintf(want, sizeof want, "%" PRIu64 " %" PRIu64, c->rlimit[i].cur,
			 c->rlimit[i].max);
		snprintf(live, sizeof live, "%llu %llu", (unsigned long long)r.rlim_cur,
			 (unsigned long long)r.rlim_max);
		snprintf(what, sizeof what, "rlimit %d", i);
		same(c->pid, what, want, live);
	}
}

static void attrs_check(const struct img_core *c, pid_t l)
{
	char want[64], live[4096];

	if (c->attrs & IMG_ATTR_OOM) {
		snprintf(want, sizeof want, "%d", c->oom_score_adj);
		same(c->pid, "oom_score_adj", want, proc_text(l, "oom_score_adj", live, sizeof live));
	}
	if (c->attrs & IMG_ATTR_LOGINUID) {
		snprintf(want, sizeof want, "%u", c->loginuid);
		same(c->pid, "loginuid", want, proc_text(l, "loginuid", live, sizeof live));
	}
	if (c->attrs & IMG_ATTR_THP) {
		snprintf(want, sizeof want, "%d", !c->thp_disable);
		same(c->pid, "THP enabled", want, status_of(l, l, "THP_enabled", live, sizeof live));
	}
	snprintf(want, sizeof want, "%04o", c->umask);
	same(c->pid, "umask", want, status_of(l, l, "Umask", live, sizeof live));
	snprintf(want, sizeof want, "%08lx", c->personality);
	same(c->pid, "personality", want, proc_text(l, "personality", live, sizeof live));
}

/* A group or session led from outside the job is ckpt-thaw's own
 * (doc/ckpt-thaw.1); in a new pid namespace that lies outside it, and
 * the job's status there says 0 */
static pid_t ids_want(const struct thaw_job *t, pid_t id, pid_t ours)
{
	if (manifest_proc(&t->in.man, id))
		return id;
	return t->newns ? 0 : ours;
}

static void core_check(const struct thaw_job *t, const struct img_proc *p,
		       const struct img_mproc *m, pid_t l)
{
	const struct img_core *c = &p->core;
	char want[64], live[4096];

	same(c->pid, "exe", c->exe, proc_link(l, "exe", live, sizeof live));
	same(c->pid, "cwd", c->cwd, proc_link(l, "cwd", live, sizeof live));
	same(c->pid, "comm", c->comm, proc_text(l, "comm", live, sizeof live));
	snprintf(want, sizeof want, "%d", (int)ids_want(t, m->pgid ? m->pgid : c->pgid, getpgrp()));
	snprintf(live, sizeof live, "%ld", inner_id(l, "NSpgid"));
	same(c->pid, "process group", want, live);
	snprintf(want, sizeof want, "%d", (int)ids_want(t, m->sid ? m->sid : c->sid, getsid(0)));
	snprintf(live, sizeof live, "%ld", inner_id(l, "NSsid"));
	same(c->pid, "session", want, live);
	sigs_check(c, l);
	rlimits_check(c, l);
	attrs_check(c, l);
}

/* --- mappings --- */

struct vma { uint64_t start, end; char perms[8], flags[256]; };

/* the process's mappings, from smaps; how many (at most max) */
static unsigned vmas_read(pid_t l, struct vma *v, unsigned max)
{
	char path[64], line[4096];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/smaps", (int)l);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof line, f)) {
		struct vma x = { 0 };

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &x.start, &x.end, x.perms) == 3 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (n < max)
				v[n++] = x;
		} else if (n && !strncmp(line, "VmFlags:", 8)) {
			snprintf(v[n - 1].flags, sizeof v[n - 1].flags, "%.250s", line + 8);
		}
	}
	fclose(f);
	return n;
}

static const struct { char code[3]; uint32_t bit; } vm_codes[] = {
	{ "lo", PLAN_VM_LOCKED }, { "dc", PLAN_VM_DONTFORK }, { "wf", PLAN_VM_WIPEONFORK },
	{ "dd", PLAN_VM_DONTDUMP }, { "hg", PLAN_VM_HUGEPAGE }, { "nh", PLAN_VM_NOHUGEPAGE },
	{ "mg", PLAN_VM_MERGEABLE }, { "sr", PLAN_VM_SEQUENTIAL }, { "rr", PLAN_VM_RANDOM },
	{ "nr", PLAN_VM_NORESERVE }, { "dp", PLAN_VM_DROPPABLE }, { "ac", PLAN_VM_ACCOUNT },
	{ "gd", PLAN_VM_GROWSDOWN },
};

static void region_text(const struct plan_region *g, char *buf, size_t len)
{
	int shared = g->kind == PLAN_FILE_SHARED || g->kind == PLAN_SHARED_ANON;
	size_t o;
	unsigned k;

	o = snprintf(buf, len, "%c%c%c%c", g->prot & 1 ? 'r' : '-', g->prot & 2 ? 'w' : '-',
		     g->prot & 4 ? 'x' : '-', shared ? 's' : 'p');
	for (k = 0; k < sizeof vm_codes / sizeof *vm_codes && o < len; k++)
		if (g->vmflags & vm_codes[k].bit)
			o += snprintf(buf + o, len - o, " %s", vm_codes[k].code);
}

static void vma_text(const struct vma *v, char *buf, size_t len)
{
	size_t o = snprintf(buf, len, "%s", v->perms);
	unsigned k;

	for (k = 0; k < sizeof vm_codes / sizeof *vm_codes && o < len; k++)
		if (strstr(v->flags, vm_codes[k].code))
			o += snprintf(buf + o, len - o, " %s", vm_codes[k].code);
}

/* each region covered by mappings of its protection and flags (the
 * kernel may have joined it to a neighbour like it) */
static void maps_check(const struct img_proc *p, pid_t l)
{
	static struct vma v[65536];
	unsigned n = vmas_read(l, v, 65536), i, j;
	char what[64], want[128], live[128];

	for (i = 0; i < p->mem.nreg; i++) {
		const struct plan_region *g = &p->mem.reg[i];
		uint64_t at = g->start;

		snprintf(what, sizeof what, "region %" PRIx64 "-%" PRIx64, g->start, g->end);
		region_text(g, want, sizeof want);
		for (j = 0; j < n && at < g->end; j++) {
			if (v[j].end <= at || v[j].start > at)
				continue;
			vma_text(&v[j], live, sizeof live);
			if (strcmp(want, live))
				break;
			at = v[j].end;
		}
		if (at < g->end)
			differ(p->core.pid, what, want, j < n ? live : NULL);
	}
}

/* --- fds --- */

/* what /proc/PID/fd/N names for the kind, or NULL: not compared */
static void fd_target(const struct fdplan_fd *e, char *buf, size_t len)
{
	buf[0] = 0;
	switch (e->k) {
	case FD_FILE: case FD_DIR: snprintf(buf, len, "%s", e->path ? e->path : ""); break;
	case FD_DELETED: snprintf(buf, len, "%s (deleted)", e->orig ? e->orig : ""); break;
	case FD_MEMFD: snprintf(buf, len, "/memfd:%s (deleted)", e->name ? e->name : ""); break;
	case FD_PIPE: snprintf(buf, len, "pipe:"); break;
	case FD_SOCKET: snprintf(buf, len, "socket:"); break;
	case FD_EVENTFD: snprintf(buf, len, "anon_inode:[eventfd]"); break;
	case FD_EPOLL: snprintf(buf, len, "anon_inode:[eventpoll]"); break;
	case FD_TIMERFD: snprintf(buf, len, "anon_inode:[timerfd]"); break;
	case FD_SIGNALFD: snprintf(buf, len, "anon_inode:[signalfd]"); break;
	case FD_INOTIFY: snprintf(buf, len, "anon_inode:inotify"); break;
	default: break;
	}
}

/* the status flags as the image keeps them: without what the kernel
 * adds itself, and O_CLOEXEC apart */
#define FL_KEPT(f) ((f) & ~(O_LARGEFILE | O_DIRECTORY | O_CLOEXEC))

static void fd_check(const struct thaw_job *t, pid_t pid, pid_t l, const struct fdplan_fd *e)
{
	char sub[64], what[64], want[4096], live[4096], *fl;
	size_t n;

	snprintf(what, sizeof what, "fd %d", e->fd);
	snprintf(sub, sizeof sub, "fd/%d", e->fd);
	if (!proc_link(l, sub, live, sizeof live)) {
		differ(pid, what, e->kind, NULL);
		return;
	}
	/* 0, 1, 2 that led outside the job lead where ckpt-thaw's do */
	if (e->fd <= 2 && (fd_outside_job(e) || (e->fd == 0 && t->attach.stdin_path)))
		return;
	fd_target(e, want, sizeof want);
	n = strlen(want);
	if (n && (want[n - 1] == ':' ? strncmp(live, want, n) : strcmp(live, want)))
		differ(pid, what, want, live);
	snprintf(sub, sizeof sub, "fdinfo/%d", e->fd);
	if (!proc_text(l, sub, live, sizeof live) || !(fl = strstr(live, "flags:")))
		return;
	long f = strtol(fl + 6, NULL, 8);
	snprintf(what, sizeof what, "fd %d flags", e->fd);
	snprintf(want, sizeof want, "0%o%s", FL_KEPT(e->flags), e->cloexec ? " cloexec" : "");
	snprintf(live, sizeof live, "0%o%s", (unsigned)FL_KEPT(f), f & O_CLOEXEC ? " cloexec" : "");
	same(pid, what, want, live);
}

static void fds_check(const struct thaw_job *t, const struct img_proc *p, pid_t l)
{
	unsigned i;

	for (i = 0; i < p->fds.n; i++)
		fd_check(t, p->core.pid, l, &p->fds.v[i]);
}

/* --- the job --- */

static void proc_check(const struct thaw_job *t, unsigned i)
{
	const struct img_mproc *m = &t->in.man.proc[i];
	const struct img_proc *p = &t->procs[i].img;
	char live[64];
	pid_t l = live_pid(t, m->pid);

	if (!l || !proc_text(l, "stat", live, sizeof live)) {
		differ(m->pid, "process", m->zombie ? "a zombie" : "running", NULL);
		return;
	}
	if (m->zombie) {
		same(m->pid, "state", "Z", status_of(l, l, "State", live, sizeof live) ?
		     (live[1] = 0, live) : NULL);
		return;
	}
	core_check(t, p, m, l);
	threads_check(t, p, l);
	maps_check(p, l);
	fds_check(t, p, l);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int verify_job(const struct thaw_job *t, long ms)
{
	long deadline = now_ms() + ms;
	struct timespec nap = { 0, 20 * 1000000 };
	unsigned i;

	for (say = 0;; nanosleep(&nap, NULL)) {
		if (now_ms() >= deadline)
			say = 1;
		ndiff = 0;
		for (i = 0; i < t->nprocs; i++)
			proc_check(t, i);
		if (!ndiff || say)
			return ndiff;
	}
}
