/* planwrite.c - a process's plan for the restorer (planwrite.h) */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "creds.h"
#include "err.h"
#include "imageread.h"
#include "io.h"
#include "plan.h"
#include "planwrite.h"

/* the bit of signal sig in a pending mask; the freeze signal is never
 * raised again: a restored thread is not frozen */
static uint64_t sig_bit(int sig)
{
	return sig >= 1 && sig <= 64 ? 1ULL << (sig - 1) : 0;
}

/* the fds to mark FD_CLOEXEC: the plan's ncloexec */
static unsigned cloexec_count(const struct img_proc *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->fds.n; i++)
		n += p->fds.v[i].cloexec != 0;
	return n;
}

/* all the group ids of all threads: the plan's ngroups */
static unsigned groups_count(const struct img_proc *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->nthr; i++)
		n += p->thr[i].cr.ngroups;
	return n;
}

/* the queued signals of the process and of every thread */
static unsigned siginfo_count(const struct img_proc *p)
{
	unsigned i, n = p->core.sigq.n;

	for (i = 0; i < p->nthr; i++)
		n += p->thr[i].sigq.n;
	return n;
}

static void plan_header(const struct img_proc *p, struct plan_hdr *h, uint64_t body,
			int newns, int userns)
{
	const struct img_core *c = &p->core;

	memset(h, 0, sizeof *h);
	h->magic = PLAN_MAGIC;
	h->version = PLAN_VERSION;
	h->hdr_size = sizeof *h;
	h->pid = c->pid;
	h->nregions = p->mem.nreg;
	h->nruns = p->mem.nrun;
	h->nthreads = p->nthr;
	h->flags = geteuid() == 0 || newns ? PLAN_F_EXE_FD : 0;
	if (!userns)
		h->flags |= PLAN_F_SET_IDS;
	h->body_size = body;
	h->pages_size = p->mem.run_bytes;
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
	h->ncloexec = cloexec_count(p);
	h->ngroups = groups_count(p);
	h->ntimers = p->ntimers;
	h->nguards = p->mem.nguard;
	h->nsiginfo = siginfo_count(p);
	if (!strstr(c->exe, " (deleted)"))
		snprintf(h->exe, sizeof h->exe, "%s", c->exe);
	h->hole_size = PLAN_TRAMP_SIZE + PLAN_VDSO_SLOT + PLAN_TSTACK_SIZE + PLAN_STACK_SIZE + PLAN_IMAGE_MAX +
		((body + 4095) & ~4095ULL);
	h->hole = memplan_hole(&p->mem, h->hole_size);
}

static int sigq_write(int fd, uint32_t tid, const struct img_sigq *q)
{
	struct plan_siginfo s = { .tid = tid };
	unsigned i;
	int e = 0;

	for (i = 0; !e && i < q->n; i++) {
		memcpy(s.info, q->v[i], sizeof s.info);
		e = write_all(fd, &s, sizeof s);
	}
	return e;
}

static int plan_siginfo(int fd, const struct img_proc *p)
{
	unsigned i;
	int e = sigq_write(fd, 0, &p->core.sigq);

	for (i = 0; !e && i < p->nthr; i++)
		e = sigq_write(fd, p->thr[i].tid, &p->thr[i].sigq);
	return e;
}

/* every thread's record, and after them the group ids they point to */
static int plan_threads(int fd, const struct img_proc *p)
{
	static const uint32_t pad;
	struct plan_thread pt;
	uint32_t *groups = NULL;
	unsigned i, ng = 0;
	int e = 0;

	for (i = 0; !e && i < p->nthr; i++) {
		pt = (struct plan_thread){ .tid = p->thr[i].tid, .role = p->thr[i].role,
					   .fs = p->thr[i].fs, .gs = p->thr[i].gs, .park = p->thr[i].park,
					   .sigpending = p->thr[i].sigpending & ~sig_bit(p->core.freeze_sig),
					   .rseq_addr = p->thr[i].rseq[0], .rseq_len = p->thr[i].rseq[1],
					   .rseq_sig = p->thr[i].rseq[2] };
		if (creds_plan(&p->thr[i], &pt.creds, &groups, &ng) < 0)
			die("out of memory");
		e = write_all(fd, &pt, sizeof pt);
	}
	if (!e && ng)
		e = write_all(fd, groups, ng * sizeof *groups);
	if (!e && ng % 2)
		e = write_all(fd, &pad, sizeof pad);
	free(groups);
	return e;
}

/* their numbers, padded to 8 bytes */
static int plan_cloexec(int fd, const struct img_proc *p)
{
	static const uint32_t pad;
	unsigned i, n = 0;
	uint32_t num;
	int e = 0;

	for (i = 0; !e && i < p->fds.n; i++)
		if (p->fds.v[i].cloexec) {
			num = p->fds.v[i].fd;
			e = write_all(fd, &num, sizeof num);
			n++;
		}
	if (!e && n % 2)
		e = write_all(fd, &pad, sizeof pad);
	return e;
}

int plan_write(int fd, const struct img_proc *p, int newns, int userns)
{
	static struct plan_hdr h;
	const struct memplan *m = &p->mem;
	size_t rs = m->nreg * sizeof *m->reg, us = m->nrun * sizeof *m->run;
	size_t ts = p->nthr * sizeof(struct plan_thread), gs = (groups_count(p) * 4 + 7) & ~7UL;
	size_t cs = (cloexec_count(p) * 4 + 7) & ~7UL, ps = p->ntimers * sizeof *p->timers;
	size_t gus = m->nguard * sizeof *m->guard, ss = siginfo_count(p) * sizeof(struct plan_siginfo);
	size_t body = rs + us + ts + gs + cs + ps + gus + ss + m->strings_len;
	int e;

	plan_header(p, &h, body, newns, userns);
	if (!h.hole)
		return warn("pid %d: no room for the restorer in the address space", p->core.pid), -2;
	e = write_all(fd, &h, sizeof h);
	if (!e)
		e = write_all(fd, m->reg, rs);
	if (!e)
		e = write_all(fd, m->run, us);
	if (!e)
		e = plan_threads(fd, p);
	if (!e)
		e = plan_cloexec(fd, p);
	if (!e && ps)
		e = write_all(fd, p->timers, ps);
	if (!e && gus)
		e = write_all(fd, m->guard, gus);
	if (!e)
		e = plan_siginfo(fd, p);
	if (!e && m->strings_len)
		e = write_all(fd, m->strings, m->strings_len);
	return e < 0 ? -1 : 0;
}
