/* coreread.c - the text members a restore reads first.  Parsing is by
 * line (lib/text.h): fields on single spaces, the key picks the rule,
 * every number checked against the range of the field it goes to. */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "escape.h"
#include "coreread.h"
#include "text.h"

#define U64 (~0ULL)

static int bad(const struct text *l, const char *why)
{
	return text_bad(l, why);
}

/* fields 1..n of the line as numbers (decimal, or hex with 0x) <= max */
static int nums(const struct text *l, int n, uint64_t max, uint64_t *v)
{
	return text_nums(l, n, 0, max, v);
}

static int path_field(const struct text *l, char *out, size_t cap)
{
	if (l->n != 2 || strlen(l->f[1]) >= cap || str_unescape(l->f[1]) < 0)
		return bad(l, "malformed path");
	snprintf(out, cap, "%s", l->f[1]);
	return 0;
}

static int man_version(struct text *l, void *obj)
{
	struct img_manifest *m = obj;
	uint64_t v;

	if (nums(l, 1, U64, &v) < 0)
		return -1;
	m->version = v > 1000000 ? 1000000 : (int)v;
	return 0;
}

static int man_kernel(struct text *l, void *obj)
{
	struct img_manifest *m = obj;

	if (l->n == 2) {
		snprintf(m->kernel, sizeof m->kernel, "%s", l->f[1]);
		str_unescape(m->kernel);
	}
	return 0;
}

static int man_arch(struct text *l, void *obj)
{
	struct img_manifest *m = obj;

	if (l->n == 2)
		snprintf(m->arch, sizeof m->arch, "%s", l->f[1]);
	return 0;
}

/* "id IMAGEID", "parent IMAGEID" or "parent -": 32 lowercase hex digits */
static int man_id(struct text *l, void *obj)
{
	struct img_manifest *m = obj;
	char *to = !strcmp(l->f[0], "id") ? m->id : m->parent;
	const char *v = l->n == 2 ? l->f[1] : "";

	if (to == m->parent && !strcmp(v, "-"))
		return *to = 0, 0;
	if (strlen(v) != 32 || strspn(v, "0123456789abcdef") != 32)
		return bad(l, "not an image id (32 lowercase hex digits)");
	memcpy(to, v, 33);
	return 0;
}

static int man_kill(struct text *l, void *obj)
{
	uint64_t v;

	if (nums(l, 1, 1, &v) < 0)
		return -1;
	((struct img_manifest *)obj)->kill = v != 0;
	return 0;
}

static int man_root(struct text *l, void *obj)
{
	uint64_t v;

	if (nums(l, 1, NUM_INT_MAX, &v) < 0)
		return -1;
	((struct img_manifest *)obj)->root = v;
	return 0;
}

const struct img_mproc *manifest_proc(const struct img_manifest *m, pid_t pid)
{
	const struct img_mproc *p = m->proc, *end = m->proc + m->nprocs;

	while (p < end && p->pid != pid)
		p++;
	return p < end ? p : NULL;
}

/* a process line must grow the tree: a new pid, whose parent is an
 * earlier proc line (the root's is outside the image) */
static int man_tree(const struct text *l, const struct img_manifest *m, const struct img_mproc *p)
{
	const struct img_mproc *parent = manifest_proc(m, p->ppid);
	char why[128];

	if (!p->pid)
		return bad(l, "pid 0");
	if (manifest_proc(m, p->pid))
		snprintf(why, sizeof why, "pid %d listed twice", p->pid);
	else if (m->nprocs == 0)
		return 0;
	else if (!parent)
		snprintf(why, sizeof why, "process %d: its parent %d is not in the image", p->pid, p->ppid);
	else if (parent->zombie)
		snprintf(why, sizeof why, "process %d: its parent %d is a zombie", p->pid, p->ppid);
	else
		return 0;
	return bad(l, why);
}

/* "proc PID PPID [PGID SID]", "zombie PID PPID PGID SID STATUS" */
static int man_proc(struct text *l, void *obj)
{
	struct img_manifest *m = obj;
	struct img_mproc p = { .zombie = !strcmp(l->f[0], "zombie") };
	uint64_t v[5] = { 0 };

	if (nums(l, p.zombie ? 5 : l->n == 3 ? 2 : 4, NUM_INT_MAX, v) < 0)
		return -1;
	if (m->nprocs == IMAGE_PROCS_MAX)
		return bad(l, "too many processes");
	p.pid = v[0], p.ppid = v[1], p.pgid = v[2], p.sid = v[3], p.status = v[4];
	p.ctty_fd = -1;
	if (man_tree(l, m, &p) < 0)
		return -1;
	m->proc[m->nprocs++] = p;
	return 0;
}

/* "ctty SID N": session SID, led by a process of the image, has the
 * job's pty N as its controlling terminal */
static int man_ctty(struct text *l, void *obj)
{
	struct img_manifest *m = obj;
	uint64_t v[2];
	unsigned i;

	if (nums(l, 2, NUM_INT_MAX, v) < 0)
		return -1;
	if (v[1] >= 1 << 20)
		return bad(l, "not a pseudo-terminal's index");
	for (i = 0; i < m->nprocs; i++)
		if (m->proc[i].pid == (pid_t)v[0] && !m->proc[i].zombie && m->proc[i].sid == m->proc[i].pid) {
			m->proc[i].ctty = v[1] + 1;
			return 0;
		}
	return bad(l, "not a session leader of the image");
}

/* "sockout INO": unix socket INO of the job is connected to a peer
 * outside it (a restore makes it reset: fds.md, "Named unix sockets") */
static int man_sockout(struct text *l, void *obj)
{
	struct img_manifest *m = obj;
	uint64_t v[1];

	if (nums(l, 1, UINT64_MAX, v) < 0)
		return -1;
	if (!v[0])
		return bad(l, "socket 0");
	if (m->nsockout == IMAGE_SOCKOUT_MAX)
		return bad(l, "too many sockets");
	m->sockout[m->nsockout++] = v[0];
	return 0;
}

static const struct text_key manifest_keys[] = {
	{ "ckpt-image", man_version }, { "kernel", man_kernel }, { "arch", man_arch },
	{ "kill", man_kill }, { "root", man_root }, { "id", man_id }, { "parent", man_id }, { "proc", man_proc }, { "zombie", man_proc },
	{ "ctty", man_ctty }, { "sockout", man_sockout },
};

static int manifest_line(struct text *l, void *m)
{
	return text_key_apply(l, TEXT_KEYS(manifest_keys), m) < 0 ? -1 : 0;
}

int manifest_parse(char *text, const char *name, struct img_manifest *m)
{
	unsigned i;

	memset(m, 0, sizeof *m);
	if (strncmp(text, "ckpt-image ", 11))
		return warn("member %s: not a ckpt image", name), -1;
	if (text_each(text, name, TEXT_FIELDS_MAX, manifest_line, m) < 0)
		return -1;
	if (!m->nprocs || !m->root || m->proc[0].pid != m->root || m->proc[0].zombie)
		return warn("member %s: no root process", name), -1;
	for (i = 1; i < m->nprocs; i++)
		if (m->proc[i].pid == m->proc[0].ppid)
			return warn("member %s: process %d is the root's parent and its descendant: a cycle",
				    name, m->proc[i].pid), -1;
	return 0;
}

static const char *const rlimit_names[16] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};

static int core_rlimit(struct text *l, void *obj)
{
	struct img_core *c = obj;
	uint64_t v[2];
	int i, k;

	if (l->n != 4)
		return bad(l, "wrong number of fields");
	for (i = 0; i < 16 && strcmp(rlimit_names[i], l->f[1]); i++)
		;
	if (i == 16)
		return 0;  /* a resource we do not know */
	for (k = 0; k < 2; k++)
		if (!strcmp(l->f[2 + k], "unlimited"))
			v[k] = ~0ULL;
		else if (num_parse_base(l->f[2 + k], 0, U64, &v[k]) < 0)
			return bad(l, "malformed limit");
	c->rlimit[i].cur = v[0];
	c->rlimit[i].max = v[1];
	return 0;
}

/* "SECS.USECS" with exactly 6 decimals */
static int seconds(const char *s, struct ckpt_timeval *tv)
{
	uint64_t sec, usec;

	if (num_secs(s, 6, &sec, &usec) < 0 || sec > INT64_MAX)
		return -1;
	tv->sec = sec;
	tv->usec = usec;
	return 0;
}

static int core_itimer(struct text *l, void *obj)
{
	struct img_core *c = obj;
	static const char *const which[3] = { "real", "virtual", "prof" };
	int i;

	if (l->n != 4)
		return bad(l, "wrong number of fields");
	for (i = 0; i < 3 && strcmp(which[i], l->f[1]); i++)
		;
	if (i == 3)
		return 0;
	if (seconds(l->f[2], &c->itimer[i].interval) < 0 ||
	    seconds(l->f[3], &c->itimer[i].value) < 0)
		return bad(l, "malformed time");
	return 0;
}

static int core_sigaction(struct text *l, void *obj)
{
	struct img_core *c = obj;
	uint64_t v[5];

	if (nums(l, 5, U64, v) < 0)
		return -1;
	if (v[0] < 1 || v[0] > 64)
		return bad(l, "no such signal");
	c->sigaction[v[0] - 1] = (struct ckpt_ksigaction){ v[1], v[2], v[3], v[4] };
	return 0;
}

static int core_ids(const struct text *l, unsigned *ids)
{
	uint64_t v[4];
	int i;

	if (nums(l, 4, NUM_U32_MAX, v) < 0)
		return -1;
	for (i = 0; i < 4; i++)
		ids[i] = v[i];
	return 0;
}

static int core_groups(const struct text *l, unsigned *groups, unsigned *ngroups)
{
	uint64_t v;
	int i;

	for (*ngroups = 0, i = 1; i < l->n; i++) {
		if (num_parse_base(l->f[i], 0, NUM_U32_MAX, &v) < 0 || *ngroups == IMAGE_GROUPS_MAX)
			return bad(l, "malformed groups");
		groups[(*ngroups)++] = v;
	}
	return 0;
}

/* the capability, securebits and no-new-privs lines of a core or a
 * thread record: 1 when the key was one of them, 0 if not, -1 */
static int creds_line(const struct text *l, uint64_t *cap, uint32_t *securebits, int *nnp)
{
	uint64_t v;

	if (!strcmp(l->f[0], "caps"))
		return nums(l, 5, U64, cap) < 0 ? -1 : 1;
	if (!strcmp(l->f[0], "securebits")) {
		if (nums(l, 1, NUM_U32_MAX, &v) < 0)
			return -1;
		*securebits = v;
		return 1;
	}
	if (!strcmp(l->f[0], "no-new-privs")) {
		if (nums(l, 1, 1, &v) < 0)
			return -1;
		*nnp = v;
		return 1;
	}
	return 0;
}

static int core_umask(struct text *l, void *obj)
{
	struct img_core *c = obj;
	uint64_t v;

	if (l->n != 2 || num_parse_base(l->f[1], 8, 0777, &v) < 0)
		return bad(l, "malformed umask");
	c->umask = v;
	return 0;
}

/* oom_score_adj: -1000 to 1000, the one signed number of a core */
static int core_oom(struct text *l, void *obj)
{
	struct img_core *c = obj;
	const char *s = l->n == 2 ? l->f[1] : "";
	int neg = *s == '-';
	uint64_t v;

	if (l->n != 2 || num_parse(s + neg, 1000, &v) < 0 || (neg && v == 0))
		return bad(l, "malformed oom-score-adj (-1000 to 1000)");
	c->oom_score_adj = neg ? -(int)v : (int)v;
	c->attrs |= IMG_ATTR_OOM;
	return 0;
}

/* the keys with one number: the field it goes to, the largest it
 * takes, and the IMG_ATTR_ bit that says the line was there */
#define FIELD(f) offsetof(struct img_core, f), sizeof ((struct img_core *)0)->f
static const struct core_scalar {
	const char *key;
	size_t off, size;
	uint64_t max;
	unsigned attr;
} core_scalars[] = {
	{ "pid", FIELD(pid), NUM_INT_MAX, 0 }, { "ppid", FIELD(ppid), NUM_INT_MAX, 0 },
	{ "pgid", FIELD(pgid), NUM_INT_MAX, 0 }, { "sid", FIELD(sid), NUM_INT_MAX, 0 },
	{ "personality", FIELD(personality), U64, 0 }, { "dumpable", FIELD(dumpable), NUM_INT_MAX, 0 },
	{ "brk", FIELD(brk), U64, 0 }, { "sigpending", FIELD(sigpending), U64, 0 },
	{ "control-tid", FIELD(ctl_tid), NUM_INT_MAX, 0 }, { "xcr0", FIELD(xcr0), U64, 0 },
	{ "freeze-signal", FIELD(freeze_sig), NUM_INT_MAX, 0 },
	{ "starttime", FIELD(starttime), U64, 0 },
	{ "loginuid", FIELD(loginuid), NUM_U32_MAX, IMG_ATTR_LOGINUID },
	{ "thp-disable", FIELD(thp_disable), 3, IMG_ATTR_THP },
	{ "child-subreaper", FIELD(subreaper), 1, IMG_ATTR_SUBREAPER },
};
#undef FIELD

/* one of core_scalars: *done 1 when it was one (0 or -1), else *done 0 */
static int core_scalar(const struct text *l, struct img_core *c, int *done)
{
	const struct core_scalar *k = core_scalars;
	uint64_t v;
	uint32_t w;

	while (k < core_scalars + sizeof core_scalars / sizeof *core_scalars && strcmp(k->key, l->f[0]))
		k++;
	if (!(*done = k < core_scalars + sizeof core_scalars / sizeof *core_scalars))
		return 0;
	if (nums(l, 1, k->max, &v) < 0)
		return -1;
	if (k->attr == IMG_ATTR_THP && v == 2)
		return bad(l, "malformed thp-disable (0, 1 or 3)");
	w = v;   /* a 4-byte field takes a value <= its max: it fits */
	memcpy((char *)c + k->off, k->size == sizeof w ? (void *)&w : (void *)&v, k->size);
	c->attrs |= k->attr;
	return 0;
}

static int core_uid(struct text *l, void *c)
{
	return core_ids(l, ((struct img_core *)c)->uid);
}

static int core_gid(struct text *l, void *c)
{
	return core_ids(l, ((struct img_core *)c)->gid);
}

static int core_groups_line(struct text *l, void *obj)
{
	struct img_core *c = obj;

	return core_groups(l, c->groups, &c->ngroups);
}

static int core_creds(struct text *l, void *obj)
{
	struct img_core *c = obj;

	return creds_line(l, c->cap, &c->securebits, &c->nnp) < 0 ? -1 : 0;
}

static int core_cwd(struct text *l, void *c)
{
	return path_field(l, ((struct img_core *)c)->cwd, sizeof ((struct img_core *)c)->cwd);
}

static int core_exe(struct text *l, void *c)
{
	return path_field(l, ((struct img_core *)c)->exe, sizeof ((struct img_core *)c)->exe);
}

static int core_comm(struct text *l, void *c)
{
	return path_field(l, ((struct img_core *)c)->comm, sizeof ((struct img_core *)c)->comm);
}

static int core_mm(struct text *l, void *c)
{
	return nums(l, 10, U64, ((struct img_core *)c)->mm);
}

static int core_auxv(struct text *l, void *obj)
{
	struct img_core *c = obj;

	if (c->nauxv == IMAGE_AUXV_MAX)
		return bad(l, "too many auxv entries");
	return nums(l, 2, U64, &c->auxv[2 * c->nauxv++]);
}

static int core_vdso(struct text *l, void *obj)
{
	struct img_core *c = obj;
	uint64_t v[3];

	if (nums(l, 3, U64, v) < 0)
		return -1;
	c->vdso[0] = v[0], c->vdso[1] = v[1], c->vdso_hash = v[2];
	c->seen_vdso = 1;
	return 0;
}

static int core_vvar(struct text *l, void *c)
{
	return nums(l, 2, U64, ((struct img_core *)c)->vvar);
}

static int core_vclock(struct text *l, void *c)
{
	return nums(l, 2, U64, ((struct img_core *)c)->vclock);
}

/* "siginfo HEX": 128 bytes of the kernel's siginfo, appended to q */
static int sigq_line(const struct text *l, struct img_sigq *q)
{
	unsigned char (*nv)[IMG_SIGINFO_SIZE];
	const char *h = l->n == 2 ? l->f[1] : "";
	unsigned i, hi, lo;

	if (strlen(h) != 2 * IMG_SIGINFO_SIZE || strspn(h, "0123456789abcdef") != strlen(h))
		return bad(l, "malformed siginfo (256 lowercase hex digits)");
	if (q->n == 1u << 20 || !(nv = realloc(q->v, (q->n + 1) * sizeof *nv)))
		return bad(l, "too many queued signals");
	q->v = nv;
	for (i = 0; i < IMG_SIGINFO_SIZE; i++) {
		hi = h[2 * i] <= '9' ? h[2 * i] - '0' : h[2 * i] - 'a' + 10;
		lo = h[2 * i + 1] <= '9' ? h[2 * i + 1] - '0' : h[2 * i + 1] - 'a' + 10;
		q->v[q->n][i] = hi << 4 | lo;
	}
	q->n++;
	return 0;
}

static int core_siginfo(struct text *l, void *c)
{
	return sigq_line(l, &((struct img_core *)c)->sigq);
}

static const struct text_key core_keys[] = {
	{ "siginfo", core_siginfo },
	{ "uid", core_uid }, { "gid", core_gid }, { "groups", core_groups_line },
	{ "caps", core_creds }, { "securebits", core_creds }, { "no-new-privs", core_creds },
	{ "umask", core_umask }, { "oom-score-adj", core_oom }, { "cwd", core_cwd },
	{ "exe", core_exe }, { "comm", core_comm }, { "mm", core_mm }, { "auxv", core_auxv },
	{ "rlimit", core_rlimit }, { "sigaction", core_sigaction }, { "itimer", core_itimer },
	{ "vdso", core_vdso }, { "vvar", core_vvar }, { "vvar_vclock", core_vclock },
};

/* a key with one number (core_scalar), else a rule of core_keys; an
 * unknown key is skipped */
static int core_line(struct text *l, void *c)
{
	int done;

	if (core_scalar(l, c, &done) < 0)
		return -1;
	if (done)
		return 0;
	return text_key_apply(l, TEXT_KEYS(core_keys), c) < 0 ? -1 : 0;
}

int core_parse(char *text, const char *name, struct img_core *c)
{
	int i;

	memset(c, 0, sizeof *c);
	/* no caps line (an older image): no capabilities at all */
	c->cap[3] = ~0ULL;   /* the bounding set: keep it */
	for (i = 0; i < 16; i++)
		c->rlimit[i].cur = c->rlimit[i].max = ~0ULL;
	c->dumpable = 1;
	c->umask = 022;
	if (text_each(text, name, TEXT_FIELDS_MAX, core_line, c) < 0)
		return -1;
	if (!c->pid || !c->cwd[0] || !c->mm[0])
		return warn("member %s: pid, cwd or mm missing", name), -1;
	return 0;
}

/* a thread's own credentials: every line of them, or none */
static int thread_creds(struct text *l, struct img_creds *cr)
{
	int r;

	if (!strcmp(l->f[0], "uid"))
		r = core_ids(l, cr->uid);
	else if (!strcmp(l->f[0], "gid"))
		r = core_ids(l, cr->gid);
	else if (!strcmp(l->f[0], "groups"))
		r = core_groups(l, cr->groups, &cr->ngroups);
	else if ((r = creds_line(l, cr->cap, &cr->securebits, &cr->nnp)) == 0)
		return 0;
	if (r < 0)
		return -1;
	cr->seen++;
	return 1;
}

static int thread_line(struct text *l, struct img_thread *t)
{
	uint64_t v[8];
	int r;

	if ((r = thread_creds(l, &t->cr)) != 0)
		return r < 0 ? -1 : 0;
	if (!strcmp(l->f[0], "role")) {
		if (l->n == 2 && !strcmp(l->f[1], "program"))
			t->role = CKPT_ROLE_PROGRAM;
		else if (l->n == 2 && !strcmp(l->f[1], "control"))
			t->role = CKPT_ROLE_CONTROL;
		else
			return bad(l, "unknown role");
	} else if (!strcmp(l->f[0], "frame")) {
		return nums(l, 1, U64, &t->frame);
	} else if (!strcmp(l->f[0], "fs")) {
		return nums(l, 1, U64, &t->fs);
	} else if (!strcmp(l->f[0], "gs")) {
		return nums(l, 1, U64, &t->gs);
	} else if (!strcmp(l->f[0], "sigpending")) {
		return nums(l, 1, U64, &t->sigpending);
	} else if (!strcmp(l->f[0], "siginfo")) {
		return sigq_line(l, &t->sigq);
	} else if (!strcmp(l->f[0], "rseq")) {
		if (nums(l, 3, U64, t->rseq) < 0)
			return -1;
		if (t->rseq[0] && (t->rseq[0] % 32 || t->rseq[1] < 32 || t->rseq[1] > 4096 ||
				   t->rseq[2] > 0xffffffffULL))
			return bad(l, "malformed rseq (an area aligned to 32, a length of 32 to 4096)");
	} else if (!strcmp(l->f[0], "park")) {
		if (nums(l, 8, U64, v) < 0)
			return -1;
		t->park = (struct ckpt_park){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
	}
	return 0;
}

struct threads {              /* what threads_parse has read so far */
	struct img_thread *t;
	unsigned n;
};

/* "thread TID" starts a record; every other line belongs to the last */
static int threads_line(struct text *l, void *obj)
{
	struct threads *th = obj;
	struct img_thread *nt;
	uint64_t tid;

	if (strcmp(l->f[0], "thread"))
		return th->n ? thread_line(l, &th->t[th->n - 1]) :
			       bad(l, "a key before the first thread");
	if (nums(l, 1, NUM_INT_MAX, &tid) < 0 || !tid)
		return -1;
	if (th->n == CKPT_THREADS_MAX || !(nt = realloc(th->t, (th->n + 1) * sizeof *nt)))
		return bad(l, "too many threads");
	th->t = nt;
	memset(&nt[th->n], 0, sizeof *nt);
	nt[th->n++].tid = tid;
	return 0;
}

/* a thread's own credentials: every line of them, or none */
static int threads_creds_whole(const struct threads *th, const char *name)
{
	unsigned i;

	for (i = 0; i < th->n; i++)
		if (th->t[i].cr.seen && th->t[i].cr.seen != 6)
			return warn("member %s: thread %d: uid, gid, groups, caps, securebits and no-new-privs come together",
				    name, th->t[i].tid), -1;
	return 0;
}

int threads_parse(char *text, const char *name, struct img_thread **tp, unsigned *np)
{
	struct threads th = { NULL, 0 };
	int r = text_each(text, name, TEXT_FIELDS_MAX, threads_line, &th);

	if (r == 0 && !th.n)
		r = -1, warn("member %s: no threads", name);
	if (r < 0 || threads_creds_whole(&th, name) < 0) {
		threads_free(th.t, th.n);
		return -1;
	}
	*tp = th.t;
	*np = th.n;
	return 0;
}

void threads_free(struct img_thread *t, unsigned n)
{
	unsigned i;

	for (i = 0; t && i < n; i++)
		free(t[i].sigq.v);
	free(t);
}

void core_free(struct img_core *c)
{
	free(c->sigq.v);
	c->sigq.v = NULL;
	c->sigq.n = 0;
}

void threads_creds_default(const struct img_core *c, struct img_thread *t, unsigned n)
{
	struct img_creds *cr;
	unsigned i;

	for (i = 0; i < n; i++) {
		cr = &t[i].cr;
		if (cr->seen)
			continue;
		memcpy(cr->uid, c->uid, sizeof cr->uid);
		memcpy(cr->gid, c->gid, sizeof cr->gid);
		memcpy(cr->groups, c->groups, c->ngroups * sizeof *cr->groups);
		cr->ngroups = c->ngroups;
		memcpy(cr->cap, c->cap, sizeof cr->cap);
		cr->securebits = c->securebits;
		cr->nnp = c->nnp;
	}
}
