/* creds.c - each thread's credentials, as the image recorded them
 * (lib/plan.h, struct plan_creds).  Credentials are per thread in the
 * kernel, so every thread sets its own: a started thread on the small
 * thread stack before it jumps to its park (entry.S), the main thread
 * last of all, once no clone3 with set_tid is left to do.
 *
 * The order matters.  The restorer holds the capabilities this needs
 * (CAP_SETUID, CAP_SETGID, CAP_SETPCAP, and every one the image's
 * threads keep: ckpt-thaw lent them, lib/creds.c) until step 5:
 *   1. SECBIT_NO_SETUID_FIXUP, so that changing ids keeps them;
 *   2. groups, gids, uids, fs ids (root's restore only);
 *   3. the inheritable set (with CAP_SETPCAP any bit of the bounding
 *      set), then the ambient set (each bit must be in the permitted
 *      and inheritable sets, and no securebit may forbid it);
 *   4. the bounding set: drop what the image lacks (needs CAP_SETPCAP),
 *      then the image's securebits (needs CAP_SETPCAP too);
 *   5. permitted, effective, inheritable: the image's, which drops
 *      whatever was lent; the ambient set is trimmed to what stays;
 *   6. no_new_privs, last, so that it blocks nothing above.
 *
 * May not: use TLS or errno (a started thread runs on the program's fs
 * base), or more stack than PLAN_TSTACK_SIZE. */
#include <sys/prctl.h>

#include "restorer.h"
#include "rawsys.h"

#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define CAPS_VERSION_3 0x20080522

struct caps_data {           /* capget/capset: two words per set */
	uint32_t eff, prm, inh;
};

static long caps_get(struct caps_data d[2])
{
	struct { uint32_t version; int32_t pid; } h = { CAPS_VERSION_3, 0 };

	return sys_capget(&h, d);
}

static long caps_put(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct { uint32_t version; int32_t pid; } h = { CAPS_VERSION_3, 0 };
	struct caps_data d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return sys_capset(&h, d);
}

static void ids_set(struct rst *r, const struct plan_thread *t)
{
	const struct plan_creds *c = &t->creds;
	long e;

	if ((e = sys_prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0)) < 0 ||
	    (e = sys_setgroups(c->ngroups, r->groups + c->groups)) < 0 ||
	    (e = sys_setresgid(c->gid[0], c->gid[1], c->gid[2])) < 0 ||
	    (e = sys_setresuid(c->uid[0], c->uid[1], c->uid[2])) < 0)
		rst_fail(r, PLAN_ST_IDS, e, t->tid);
	/* setfs*id answer the old id, never an error: ask again */
	sys_setfsgid(c->gid[3]);
	sys_setfsuid(c->uid[3]);
	if ((uint32_t)sys_setfsgid(-1) != c->gid[3] ||
	    (uint32_t)sys_setfsuid(-1) != c->uid[3])
		rst_fail(r, PLAN_ST_IDS, -1 /* EPERM */, t->tid);
}

/* steps 3 and 4: what needs the lent capabilities still held */
static void caps_prepare(struct rst *r, const struct plan_thread *t)
{
	const uint64_t *cap = t->creds.cap;
	struct caps_data d[2];
	long e;
	int i;

	if ((e = caps_get(d)) < 0 ||
	    (e = caps_put(d[0].eff | (uint64_t)d[1].eff << 32,
			  d[0].prm | (uint64_t)d[1].prm << 32, cap[0])) < 0 ||
	    (e = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0)
		rst_fail(r, PLAN_ST_CAPSET, e, t->tid);
	for (i = 0; i < 64; i++)
		if ((cap[4] >> i & 1) &&
		    (e = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0)) < 0)
			rst_fail(r, PLAN_ST_CAPSET, e, t->tid);
	/* a bit past the kernel's last capability answers EINVAL */
	for (i = 0; i < 64; i++)
		if (!(cap[3] >> i & 1) && (e = sys_prctl(PR_CAPBSET_DROP, i, 0, 0, 0)) < 0 &&
		    e != -22 /* EINVAL */)
			rst_fail(r, PLAN_ST_CAPSET, e, t->tid);
	if (sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) != (long)t->creds.securebits &&
	    (e = sys_prctl(PR_SET_SECUREBITS, t->creds.securebits, 0, 0, 0)) < 0)
		rst_fail(r, PLAN_ST_SECUREBITS, e, t->tid);
}

void rst_creds(struct rst *r, const struct plan_thread *t)
{
	const uint64_t *cap = t->creds.cap;
	long e;

	if (r->hdr.flags & PLAN_F_SET_IDS)
		ids_set(r, t);
	caps_prepare(r, t);
	if ((e = caps_put(cap[2], cap[1], cap[0])) < 0)
		rst_fail(r, PLAN_ST_CAPSET, e, t->tid);
	if (t->creds.nnp && (e = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
		rst_fail(r, PLAN_ST_NNP, e, t->tid);
}
