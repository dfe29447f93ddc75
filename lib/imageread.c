/* imageread.c - the members of an image, read in order (imageread.h) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "creds.h"
#include "err.h"
#include "imageread.h"
#include "machine.h"
#include "timers.h"

/* in the order of member_names */
enum { HAVE_CORE = 1, HAVE_THREADS = 2, HAVE_FDS = 4, HAVE_MAPS = 8,
       HAVE_MAPFILES = 16, HAVE_PAGEMAP = 32,
       HAVE_VMFLAGS = 64,       /* not in older images: not required */
       HAVE_TIMERS = 128,       /* only when the process has POSIX timers */
       HAVE_SYSVSHM = 256,      /* only with SysV segments attached */
       HAVE_GUARDS = 512,       /* only with guard pages */
       HAVE_ALL = 63 };

static const char *const member_names[] = { "core", "threads", "fds", "maps", "mapfiles", "pagemap",
					     "vmflags", "timers", "sysvshm", "guards" };

/* the current member as a string, or NULL after a message */
static char *member_text(struct img_in *in, size_t max)
{
	size_t len;
	char *s = stream_slurp(&in->st, max, &len);

	if (s && strlen(s) != len) {
		warn("member %s: a NUL byte in a text member", in->st.name);
		free(s);
		return NULL;
	}
	return s;
}

int img_manifest_read(struct img_in *in)
{
	struct img_manifest *m = &in->man;
	struct utsname u;
	char *text;
	int r;

	if ((r = stream_next(&in->st)) <= 0) {
		if (r == 0)
			warn("%s: empty stream", in->st.what);
		return -1;
	}
	if (strcmp(in->st.name, "ckpt/manifest"))
		return warn("%s: not a ckpt image (first member %s)", in->st.what, in->st.name), -1;
	if (!(text = member_text(in, 1 << 20)))
		return -1;
	r = manifest_parse(text, in->st.name, m);
	free(text);
	if (r < 0)
		return -1;
	if (m->version > IMAGE_VERSION)
		return warn("image version %d, this ckpt-thaw reads up to %d", m->version,
			    IMAGE_VERSION), -1;
	if (*m->parent)
		return warn("%s: image %s is an increment of image %s: restore its chain (ckpt-thaw BASE INC...)",
			    in->st.what, m->id, m->parent), -1;
	uname(&u);
	if (strcmp(m->arch, "x86_64") || strcmp(u.machine, "x86_64"))
		return warn("image for %s, this machine is %s", m->arch, u.machine), -1;
	if (strcmp(m->kernel, u.release))
		return warn("image from kernel %s, this is %s: the vDSO differs", m->kernel,
			    u.release), -1;
	return 0;
}

static int threads_check(const struct img_proc *p)
{
	unsigned i, main = 0;

	for (i = 0; i < p->nthr; i++) {
		main += p->thr[i].tid == p->core.pid;
		if (!p->thr[i].park.rip || !p->thr[i].park.rsp || !p->thr[i].fs)
			return warn("member proc/%d/threads: thread %d has no park or fs",
				    p->core.pid, p->thr[i].tid), -1;
	}
	if (main != 1)
		return warn("member proc/%d/threads: no record for the main thread", p->core.pid), -1;
	return 0;
}

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
 * for the image before any: img_proc_vouch), files/, pipes/ and socks/
 * after fds, mapfiles and pagemap after maps */
static int member_order(struct img_in *in, struct img_proc *p, int pid, int bit)
{
	int need = bit & (HAVE_MAPFILES | HAVE_PAGEMAP | HAVE_VMFLAGS | HAVE_SYSVSHM | HAVE_GUARDS) ? HAVE_MAPS :
		   bit & (HAVE_FDS | HAVE_TIMERS) ? HAVE_CORE | HAVE_THREADS : !bit ? HAVE_FDS : 0;

	if (bit & p->have)
		return warn("member %s: a second one in the image", in->st.name), -1;
	if (need & ~p->have)
		return warn("member %s: comes before proc/%d/%s", in->st.name, pid,
			    member_names[__builtin_ctz(need & ~p->have)]), -1;
	p->have |= bit;
	return 0;
}

int img_proc_vouch(struct img_in *in, struct img_proc *p)
{
	if (p->vouched)
		return 0;
	if ((p->have & (HAVE_CORE | HAVE_THREADS)) != (HAVE_CORE | HAVE_THREADS))
		return warn("member %s: before the core and threads members", in->st.name), -1;
	threads_creds_default(&p->core, p->thr, p->nthr);
	if (!in->trust_image && creds_trust(&p->core, p->thr, p->nthr,
					    in->vouch ? in->vouch_fd : in->from_file ? in->st.fd : 0,
					    in->st.what) < 0)
		return -1;
	p->vouched = 1;
	return 0;
}

/* the text of member bit, parsed into p: 0 or -1 */
static int member_parse(struct img_in *in, struct img_proc *p, int pid, int bit, char *text)
{
	const char *name = in->st.name;
	int r;

	switch (bit) {
	case HAVE_CORE:
		if ((r = core_parse(text, name, &p->core)) == 0 && p->core.pid != pid)
			r = -1, warn("member %s: pid %d", name, p->core.pid);
		return r;
	case HAVE_THREADS:
		return threads_parse(text, name, &p->thr, &p->nthr);
	case HAVE_FDS:
		if ((r = fdplan_parse(&p->fds, pid, text)) == 0)
			fdplan_bind(&p->fds, &p->core, &p->mem);
		if (r == 0 && fdjob_add(&in->fdjob, pid, &p->fds) < 0)
			r = -1, warn("out of memory");
		return r;
	case HAVE_MAPS:
		return memplan_maps(&p->mem, pid, text, strlen(text));
	case HAVE_MAPFILES:
		return memplan_mapfiles(&p->mem, pid, text);
	case HAVE_VMFLAGS:
		return memplan_vmflags(&p->mem, pid, text);
	case HAVE_SYSVSHM:
		return memplan_sysvshm(&p->mem, pid, text);
	case HAVE_GUARDS:
		return memplan_guards(&p->mem, pid, text);
	case HAVE_TIMERS:
		return timers_parse(text, name, p->thr, p->nthr, &p->timers, &p->ntimers);
	default:
		return memplan_pagemap(&p->mem, pid, text);
	}
}

/* one member of proc/PID/: 1 when it was pages (stop there), 0, -1 */
static int proc_member(struct img_in *in, struct img_proc *p, int pid, const char *sub)
{
	int r, bit = member_bit(sub);
	char *text;

	if (!strcmp(sub, "pages"))
		return 1;
	if (!strncmp(sub, "files/", 6) || !strncmp(sub, "pipes/", 6) || !strncmp(sub, "socks/", 6) ||
	    !strncmp(sub, "ptys/", 5))
		return member_order(in, p, pid, 0) < 0 || img_proc_vouch(in, p) < 0 ? -1 :
		       fdplan_data(&p->fds, pid, sub, &in->st);
	if (!bit)
		return 0;  /* unknown: skipped by stream_next */
	if (member_order(in, p, pid, bit) < 0 || (bit == HAVE_FDS && img_proc_vouch(in, p) < 0) ||
	    !(text = member_text(in, 256 << 20)))
		return -1;
	r = member_parse(in, p, pid, bit, text);
	free(text);
	return r < 0 ? -1 : 0;
}

int img_proc_read(struct img_in *in, struct img_proc *p, pid_t pid)
{
	char prefix[64];
	size_t n = snprintf(prefix, sizeof prefix, "proc/%d/", pid);
	int r;

	while ((r = in->held ? 1 : stream_next(&in->st)) > 0) {
		in->held = 0;
		if (!strncmp(in->st.name, "proc/", 5) && strncmp(in->st.name, prefix, n))
			return warn("member %s: process %d's members come next (formats/stream.md)",
				    in->st.name, pid), -1;
		if (strncmp(in->st.name, prefix, n))
			continue;
		if ((r = proc_member(in, p, pid, in->st.name + n)) != 0)
			break;
	}
	if (r < 0)
		return -1;
	if (r == 0)
		return warn("%s: truncated: process %d has no pages member", in->st.what, pid), -1;
	if ((p->have & HAVE_ALL) != HAVE_ALL)   /* the first member the pages came before */
		return warn("member %s: comes before proc/%d/%s", in->st.name, pid,
			    member_names[__builtin_ctz(~p->have & HAVE_ALL)]), -1;
	if (in->st.size != p->mem.run_bytes)
		return warn("member %s: %" PRIu64 " bytes, its pagemap says %" PRIu64, in->st.name,
			    in->st.size, p->mem.run_bytes), -1;
	if (memplan_check(&p->mem, pid) < 0 || threads_check(p) < 0)
		return -1;
	return machine_check(&p->core);
}

void img_proc_free(struct img_proc *p)
{
	threads_free(p->thr, p->nthr);
	core_free(&p->core);
	free(p->timers);
	p->timers = NULL;
	p->ntimers = 0;
	fdplan_free(&p->fds);
	memplan_free(&p->mem);
	p->thr = NULL;
	p->nthr = 0;
}
