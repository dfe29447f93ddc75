/* image.c - the text members a restore reads first.  Parsing is by
 * line (lib/text.h): fields on single spaces, the key picks the rule,
 * every number checked against the range of the field it goes to. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "escape.h"
#include "image.h"
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

int manifest_parse(char *text, const char *name, struct img_manifest *m)
{
	struct text l;
	uint64_t v[4];
	int r;

	memset(m, 0, sizeof *m);
	if (strncmp(text, "ckpt-image ", 11))
		return warn("member %s: not a ckpt image", name), -1;
	text_init(&l, text, strlen(text), name);
	while ((r = text_record(&l, TEXT_FIELDS_MAX)) > 0) {
		if (!strcmp(l.f[0], "ckpt-image")) {
			if (nums(&l, 1, U64, v) < 0)
				return -1;
			m->version = v[0] > 1000000 ? 1000000 : (int)v[0];
		} else if (!strcmp(l.f[0], "kernel") && l.n == 2) {
			snprintf(m->kernel, sizeof m->kernel, "%s", l.f[1]);
			str_unescape(m->kernel);
		} else if (!strcmp(l.f[0], "arch") && l.n == 2) {
			snprintf(m->arch, sizeof m->arch, "%s", l.f[1]);
		} else if (!strcmp(l.f[0], "kill")) {
			if (nums(&l, 1, 1, v) < 0)
				return -1;
			m->kill = v[0] != 0;
		} else if (!strcmp(l.f[0], "root")) {
			if (nums(&l, 1, NUM_INT_MAX, v) < 0)
				return -1;
			m->root = v[0];
		} else if (!strcmp(l.f[0], "proc")) {
			/* proc PID PPID PGID SID, or an older image's proc PID PPID */
			if (nums(&l, l.n == 5 ? 4 : 2, NUM_INT_MAX, v) < 0)
				return -1;
			if (m->nprocs == IMAGE_PROCS_MAX)
				return bad(&l, "too many processes");
			m->pid[m->nprocs] = v[0];
			m->ppid[m->nprocs++] = v[1];
		}
	}
	if (r < 0)
		return -1;
	if (!m->nprocs || !m->root || m->pid[0] != m->root)
		return warn("member %s: no root process", name), -1;
	return 0;
}

static const char *const rlimit_names[16] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};

static int core_rlimit(const struct text *l, struct img_core *c)
{
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

static int core_itimer(const struct text *l, struct img_core *c)
{
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

static int core_sigaction(const struct text *l, struct img_core *c)
{
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

static int core_umask(const struct text *l, struct img_core *c)
{
	uint64_t v;

	if (l->n != 2 || num_parse_base(l->f[1], 8, 0777, &v) < 0)
		return bad(l, "malformed umask");
	c->umask = v;
	return 0;
}

/* oom_score_adj: -1000 to 1000, the one signed number of a core */
static int core_oom(const struct text *l, struct img_core *c)
{
	const char *s = l->n == 2 ? l->f[1] : "";
	int neg = *s == '-';
	uint64_t v;

	if (l->n != 2 || num_parse(s + neg, 1000, &v) < 0 || (neg && v == 0))
		return bad(l, "malformed oom-score-adj (-1000 to 1000)");
	c->oom_score_adj = neg ? -(int)v : (int)v;
	c->attrs |= IMG_ATTR_OOM;
	return 0;
}

/* the keys with one number, and the largest each field takes */
static int core_scalar(const struct text *l, struct img_core *c, int *done)
{
	static const struct { const char *key; uint64_t max; } keys[] = {
		{ "pid", NUM_INT_MAX }, { "ppid", NUM_INT_MAX }, { "pgid", NUM_INT_MAX },
		{ "sid", NUM_INT_MAX }, { "personality", U64 }, { "dumpable", NUM_INT_MAX },
		{ "brk", U64 }, { "sigpending", U64 }, { "control-tid", NUM_INT_MAX },
		{ "xcr0", U64 }, { "freeze-signal", NUM_INT_MAX }, { "starttime", U64 },
		{ "loginuid", NUM_U32_MAX }, { "thp-disable", 3 }, { "child-subreaper", 1 } };
	uint64_t v;
	unsigned i;

	*done = 0;
	for (i = 0; i < sizeof keys / sizeof *keys && strcmp(keys[i].key, l->f[0]); i++)
		;
	if (i == sizeof keys / sizeof *keys)
		return 0;
	*done = 1;
	if (nums(l, 1, keys[i].max, &v) < 0)
		return -1;
	switch (i) {
	case 0: c->pid = v; break;
	case 1: c->ppid = v; break;
	case 2: c->pgid = v; break;
	case 3: c->sid = v; break;
	case 4: c->personality = v; break;
	case 5: c->dumpable = v; break;
	case 6: c->brk = v; break;
	case 7: c->sigpending = v; break;
	case 8: c->ctl_tid = v; break;
	case 9: c->xcr0 = v; break;
	case 10: c->freeze_sig = v; break;
	case 11: c->starttime = v; break;
	case 12: c->loginuid = v, c->attrs |= IMG_ATTR_LOGINUID; break;
	case 13:
		if (v == 2)
			return bad(l, "malformed thp-disable (0, 1 or 3)");
		c->thp_disable = v, c->attrs |= IMG_ATTR_THP;
		break;
	case 14: c->subreaper = v, c->attrs |= IMG_ATTR_SUBREAPER; break;
	}
	return 0;
}

static int core_line(struct text *l, struct img_core *c)
{
	const char *k = l->f[0];
	uint64_t v[3];
	int done;

	if (core_scalar(l, c, &done) < 0)
		return -1;
	if (done)
		return 0;
	if (!strcmp(k, "uid"))
		return core_ids(l, c->uid);
	if (!strcmp(k, "gid"))
		return core_ids(l, c->gid);
	if (!strcmp(k, "groups"))
		return core_groups(l, c->groups, &c->ngroups);
	if ((done = creds_line(l, c->cap, &c->securebits, &c->nnp)) != 0)
		return done < 0 ? -1 : 0;
	if (!strcmp(k, "umask"))
		return core_umask(l, c);
	if (!strcmp(k, "oom-score-adj"))
		return core_oom(l, c);
	if (!strcmp(k, "cwd"))
		return path_field(l, c->cwd, sizeof c->cwd);
	if (!strcmp(k, "exe"))
		return path_field(l, c->exe, sizeof c->exe);
	if (!strcmp(k, "comm"))
		return path_field(l, c->comm, sizeof c->comm);
	if (!strcmp(k, "mm"))
		return nums(l, 10, U64, c->mm);
	if (!strcmp(k, "auxv")) {
		if (c->nauxv == IMAGE_AUXV_MAX)
			return bad(l, "too many auxv entries");
		return nums(l, 2, U64, &c->auxv[2 * c->nauxv++]);
	}
	if (!strcmp(k, "rlimit"))
		return core_rlimit(l, c);
	if (!strcmp(k, "sigaction"))
		return core_sigaction(l, c);
	if (!strcmp(k, "itimer"))
		return core_itimer(l, c);
	if (!strcmp(k, "vdso")) {
		if (nums(l, 3, U64, v) < 0)
			return -1;
		c->vdso[0] = v[0], c->vdso[1] = v[1], c->vdso_hash = v[2];
		c->seen_vdso = 1;
		return 0;
	}
	if (!strcmp(k, "vvar"))
		return nums(l, 2, U64, c->vvar);
	if (!strcmp(k, "vvar_vclock"))
		return nums(l, 2, U64, c->vclock);
	return 0;
}

int core_parse(char *text, const char *name, struct img_core *c)
{
	struct text l;
	int i, r;

	memset(c, 0, sizeof *c);
	/* no caps line (an older image): no capabilities at all */
	c->cap[3] = ~0ULL;   /* the bounding set: keep it */
	for (i = 0; i < 16; i++)
		c->rlimit[i].cur = c->rlimit[i].max = ~0ULL;
	c->dumpable = 1;
	c->umask = 022;
	text_init(&l, text, strlen(text), name);
	while ((r = text_record(&l, TEXT_FIELDS_MAX)) > 0)
		if (core_line(&l, c) < 0)
			return -1;
	if (r < 0)
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
	} else if (!strcmp(l->f[0], "park")) {
		if (nums(l, 8, U64, v) < 0)
			return -1;
		t->park = (struct ckpt_park){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
	}
	return 0;
}

int threads_parse(char *text, const char *name, struct img_thread **tp, unsigned *np)
{
	struct text l;
	struct img_thread *t = NULL, *nt;
	unsigned n = 0;
	uint64_t tid;
	int r;

	text_init(&l, text, strlen(text), name);
	while ((r = text_record(&l, TEXT_FIELDS_MAX)) > 0) {
		if (!strcmp(l.f[0], "thread")) {
			if (nums(&l, 1, NUM_INT_MAX, &tid) < 0 || !tid)
				goto fail;
			if (n == CKPT_THREADS_MAX || !(nt = realloc(t, (n + 1) * sizeof *t))) {
				bad(&l, "too many threads");
				goto fail;
			}
			t = nt;
			memset(&t[n], 0, sizeof t[n]);
			t[n++].tid = tid;
		} else if (!n) {
			bad(&l, "a key before the first thread");
			goto fail;
		} else if (thread_line(&l, &t[n - 1]) < 0) {
			goto fail;
		}
	}
	if (r < 0)
		goto fail;
	if (!n) {
		warn("member %s: no threads", name);
		goto fail;
	}
	for (tid = 0; tid < n; tid++)
		if (t[tid].cr.seen && t[tid].cr.seen != 6) {
			warn("member %s: thread %d: uid, gid, groups, caps, securebits and no-new-privs come together",
			     name, t[tid].tid);
			goto fail;
		}
	*tp = t;
	*np = n;
	return 0;
fail:
	free(t);
	return -1;
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
