/* creds.c - the credentials a restore gives back, and whether it may */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "kproc.h"

#define CAP_BIT(c) (1ULL << (c))

/* the groups the file's owner is in (its primary group first) */
static int owner_groups(uid_t owner, gid_t *g, int max)
{
	struct passwd *pw = getpwuid(owner);
	int n = max;

	if (!pw)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) < 0)
		return max;
	return n;
}

static int in_set(unsigned id, const gid_t *g, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (g[i] == id)
			return 1;
	return 0;
}

/* what one thread claims beyond the owner: a word for the message, or
 * NULL when nothing; *id gets the id or the capability set */
static const char *claim_beyond(const struct img_creds *cr, uid_t owner, const gid_t *g,
				int ng, uint64_t *id)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (cr->uid[i] != owner)
			return *id = cr->uid[i], "uid";
	for (i = 0; i < 4; i++)
		if (!in_set(cr->gid[i], g, ng))
			return *id = cr->gid[i], "gid";
	for (i = 0; i < cr->ngroups; i++)
		if (!in_set(cr->groups[i], g, ng))
			return *id = cr->groups[i], "group";
	*id = cr->cap[KCAP_INH] | cr->cap[KCAP_PRM] | cr->cap[KCAP_EFF] | cr->cap[KCAP_AMB];
	return *id ? "capabilities" : NULL;
}

/* What only privilege could set is not taken from another user's file:
 * an oom_score_adj below ours (CAP_SYS_RESOURCE), a loginuid other than
 * ours once ours is set (CAP_AUDIT_CONTROL; an unset one anyone may
 * set).  0, or -1 after a message. */
static int attrs_beyond(const struct img_core *c, uid_t owner, const char *what)
{
	long long oom = self_number("oom_score_adj"), lu = self_number("loginuid");

	if ((c->attrs & IMG_ATTR_OOM) && c->oom_score_adj < oom) {
		warn("%s: owned by uid %u, but its core claims oom_score_adj %d, below ours (%lld): refused (--trust-image restores it as it says)",
		     what, (unsigned)owner, c->oom_score_adj, oom);
		return -1;
	}
	if ((c->attrs & IMG_ATTR_LOGINUID) && lu != 4294967295LL && c->loginuid != lu) {
		warn("%s: owned by uid %u, but its core claims loginuid %u, not ours (%lld): refused (--trust-image restores it as it says)",
		     what, (unsigned)owner, c->loginuid, lu);
		return -1;
	}
	return 0;
}

int creds_trust(const struct img_core *c, const struct img_thread *t, unsigned n,
		int fd, const char *what)
{
	static gid_t g[65536];
	const char *claim;
	struct stat st;
	uint64_t id;
	unsigned i;
	int ng;

	struct img_creds core;

	if (geteuid() != 0 || fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_mode & S_IWOTH) {
		warn("%s: anyone may write it, so it may claim no ids: refused (--trust-image restores it as it says)", what);
		return -1;
	}
	if (st.st_uid == 0)
		return 0;
	if (attrs_beyond(c, st.st_uid, what) < 0)
		return -1;
	ng = owner_groups(st.st_uid, g, sizeof g / sizeof *g);
	/* the core's ids are the restorer's until each thread takes its own */
	memset(&core, 0, sizeof core);
	memcpy(core.uid, c->uid, sizeof core.uid);
	memcpy(core.gid, c->gid, sizeof core.gid);
	memcpy(core.groups, c->groups, c->ngroups * sizeof *core.groups);
	core.ngroups = c->ngroups;
	memcpy(core.cap, c->cap, sizeof core.cap);
	for (i = 0; i <= n; i++) {
		if (!(claim = claim_beyond(i < n ? &t[i].cr : &core, st.st_uid, g, ng, &id)))
			continue;
		if (i == n)
			warn("%s: owned by uid %u, but its core claims %s 0x%" PRIx64 ": refused (--trust-image restores it as it says)",
			     what, (unsigned)st.st_uid, claim, id);
		else
		if (!strcmp(claim, "capabilities"))
			warn("%s: owned by uid %u, but thread %d claims capabilities 0x%" PRIx64 ": refused (--trust-image restores it as it says)",
			     what, (unsigned)st.st_uid, t[i].tid, id);
		else
			warn("%s: owned by uid %u, but thread %d claims %s %" PRIu64 ", which uid %u does not have: refused (--trust-image restores it as it says)",
			     what, (unsigned)st.st_uid, t[i].tid, claim, id, (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

static uint64_t own_permitted(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

int creds_can(const struct img_core *c, const struct img_thread *t, unsigned n, int userns)
{
	uint64_t have = userns ? 0 : own_permitted(), lack;
	unsigned i;

	for (i = 0; i < n; i++) {
		lack = t[i].cr.cap[KCAP_PRM] & ~have;
		if (!lack)
			continue;
		if (userns)
			warn("pid %d: thread %d has capabilities (permitted 0x%" PRIx64 "): only root can give them back",
			     c->pid, t[i].tid, lack);
		else
			warn("pid %d: thread %d has capabilities this ckpt-thaw does not hold (0x%" PRIx64 ")",
			     c->pid, t[i].tid, lack);
		return -1;
	}
	return 0;
}

uint64_t creds_lend(const struct img_thread *t, unsigned n, int userns)
{
	uint64_t m = CAP_BIT(CAP_CHECKPOINT_RESTORE) | CAP_BIT(CAP_SETPCAP);
	unsigned i;

	if (userns)
		return m;
	m |= CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETGID);
	for (i = 0; i < n; i++)
		m |= t[i].cr.cap[KCAP_PRM];
	return m;
}

int creds_plan(const struct img_thread *t, struct plan_creds *pc, uint32_t **groups,
	       unsigned *ngroups)
{
	const struct img_creds *cr = &t->cr;
	uint32_t *g = realloc(*groups, (*ngroups + cr->ngroups + 1) * sizeof *g);

	if (!g)
		return -1;
	memset(pc, 0, sizeof *pc);
	memcpy(pc->uid, cr->uid, sizeof pc->uid);
	memcpy(pc->gid, cr->gid, sizeof pc->gid);
	memcpy(g + *ngroups, cr->groups, cr->ngroups * sizeof *g);
	pc->groups = *ngroups;
	pc->ngroups = cr->ngroups;
	memcpy(pc->cap, cr->cap, sizeof pc->cap);
	pc->securebits = cr->securebits;
	pc->nnp = cr->nnp;
	*groups = g;
	*ngroups += cr->ngroups;
	return 0;
}
