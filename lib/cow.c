/* cow.c - the tools' side of ckpt-freeze --cow (cow.h) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cow.h"
#include "ctl.h"
#include "err.h"
#include "index.h"
#include "io.h"
#include "num.h"
#include "pagesout.h"

void cow_init(struct cow *c)
{
	*c = (struct cow){ .chan = -1, .sock = -1, .mem_fd = -1, .pagemap_fd = -1, .held_fd = -1,
			   .stat_fd = -1 };
}

/* the fd an option names, or -1 */
static int fd_of(const char *arg)
{
	uint64_t fd;

	return arg && num_parse(arg, 1 << 20, &fd) == 0 ? (int)fd : -1;
}

int cow_stage_init(struct cow *c, const char *arg, const char *const *names, int n)
{
	int keep[8] = { fd_of(arg) }, lo = 3, i, k, t;
	pid_t parent = getppid();
	struct stat st;

	if (keep[0] < 0 || fstat(keep[0], &st) < 0 || !S_ISSOCK(st.st_mode)) {
		warn("--cow %s: not an open socket", arg);
		return -1;
	}
	c->chan = keep[0];
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return warn("--cow: ckpt-freeze is gone"), -1;
	for (n = n < 7 ? n + 1 : 8, i = 1; i < n; i++)
		keep[i] = fd_of(names[i - 1]);
	for (i = 0; i < n; i++)          /* in order: the gaps between them go */
		for (k = i + 1; k < n; k++)
			if (keep[k] < keep[i])
				t = keep[i], keep[i] = keep[k], keep[k] = t;
	for (i = 0; i < n; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
	return 0;
}

void cow_close(struct cow *c)
{
	if (c->sock >= 0)
		close(c->sock);   /* the snapshot ends */
	if (c->mem_fd >= 0)
		close(c->mem_fd);
	if (c->pagemap_fd >= 0)
		close(c->pagemap_fd);
	if (c->held_fd >= 0)
		close(c->held_fd);
	if (c->stat_fd >= 0)
		close(c->stat_fd);
	c->sock = c->mem_fd = c->pagemap_fd = c->held_fd = c->stat_fd = -1;
}

/* the VmFlags line of the region starting at start, from smaps */
static const char *vmflags_of(const char *smaps, uint64_t start)
{
	char key[40];
	const char *p;
	int n = snprintf(key, sizeof key, "%08" PRIx64 "-", start);

	for (p = smaps; p && (p = strstr(p, key)); p += n)
		if (p == smaps || p[-1] == '\n')
			return strstr(p, "\nVmFlags:");
	return NULL;
}

/* the two-letter code flag among the line's codes */
static int vmflag_has(const char *line, const char *flag)
{
	const char *p, *eol = line ? strchr(line + 1, '\n') : NULL;

	if (!line)
		return 0;
	for (p = line + 9; (p = strstr(p, flag)) && (!eol || p < eol); p += 2)
		if (p[-1] == ' ' && (p[2] == ' ' || p[2] == '\n' || !p[2]))
			return 1;
	return 0;
}

static int is_shim(const struct map_region *r)
{
	return r->pathlen && memmem(r->path, r->pathlen, "/libckpt.so", 11);
}

int cow_region_held(const char *smaps, const struct map_region *reg, size_t i,
		    enum map_kind kind)
{
	const struct map_region *r = &reg[i];
	const char *fl;

	if (r->shared || kind == MAP_KIND_SHARED_MEM || kind == MAP_KIND_ORPHAN || is_shim(r))
		return 1;
	if (i && !r->pathlen && is_shim(&reg[i - 1]) && reg[i - 1].end == r->start)
		return 1;
	fl = vmflags_of(smaps, r->start);
	return vmflag_has(fl, "dc") || vmflag_has(fl, "wf");
}

int cow_hold(struct cow *c, pid_t pid, int mem_fd, const struct run_list *runs)
{
	struct tar_out held;
	struct pages_out o = { .pid = pid, .mem_fd = mem_fd, .tar = &held };
	size_t i;

	if ((c->held_fd = memfd_create("ckpt-cow-held", MFD_CLOEXEC)) < 0)
		return warn("pid %d: memfd_create:", (int)pid), -1;
	tar_init(&held, c->held_fd, 0);
	for (i = 0; i < runs->n; i++)
		if (runs->v[i].held && pages_run_copy(&o, &runs->v[i]) < 0)
			return -1;
	return 0;
}

int cow_snapshot(struct cow *c, pid_t pid, int sock)
{
	static struct ckpt_proc_rec rec;
	int fds[CKPT_PROCFD_COUNT], i, r;
	struct ctl_call s = { .op = CKPT_OP_COW, .arg = c->child ? CKPT_COW_CHILD : 0,
			      .rfds = &c->sock, .nrfds = 1 };
	struct ctl_call p = { .op = CKPT_OP_PROC, .reply = &rec, .replen = sizeof rec,
			      .rfds = fds, .nrfds = CKPT_PROCFD_COUNT };

	if ((r = ctl_call(sock, &s)) < 0 || s.nrfds != 1) {
		warnerr(r ? r : -EPROTO, "pid %d: copy-on-write snapshot:", (int)pid);
		return -1;
	}
	c->pid = s.rep.arg;
	r = ctl_call(c->sock, &p);
	if (r == 0 && p.nrfds != CKPT_PROCFD_COUNT)
		r = -EPROTO;
	for (i = 0; i < p.nrfds; i++)
		if (i == CKPT_PROCFD_MEM && r == 0)
			c->mem_fd = fds[i];
		else if (i == CKPT_PROCFD_PAGEMAP && r == 0)
			c->pagemap_fd = fds[i];
		else if (i == CKPT_PROCFD_STAT && r == 0)
			c->stat_fd = fds[i];
		else
			close(fds[i]);
	if (r == -EACCES)
		/* the snapshot's pid is the shim's word: never opened by us */
		warn("pid %d: not dumpable: its snapshot, pid %d, may not open its own memory; checkpoint it without --cow",
		     (int)pid, (int)c->pid);
	else if (r < 0)
		warnerr(r, "pid %d: its snapshot, pid %d: memory:", (int)pid, (int)c->pid);
	return r < 0 ? -1 : 0;
}

int cow_stage_ready(struct cow *c, pid_t pid, int sub)
{
	char b = sub ? 'S' : 'R';
	int r = write_all(c->chan, &b, 1);

	if (r < 0)
		warnerr(r, "pid %d: --cow %d: ready:", (int)pid, c->chan);
	return r < 0 ? -1 : 0;
}

int cow_stage_snapshot(struct cow *c, pid_t pid)
{
	int r = write_all(c->chan, "K", 1);

	if (r < 0)
		warnerr(r, "pid %d: --cow %d: snapshot taken:", (int)pid, c->chan);
	return r < 0 ? -1 : 0;
}

int cow_stage_thawed(struct cow *c)
{
	char b;

	/* ckpt-freeze gave up on the checkpoint, or is gone: no message */
	return read_all(c->chan, &b, 1) == 1 && b == 'T' ? 0 : -1;
}

int cow_stage_wait(struct cow *c, pid_t pid, uint64_t *off)
{
	ssize_t n = read_all(c->chan, off, sizeof *off);

	if (n == sizeof *off)
		return 0;
	/* ckpt-freeze gave up on the checkpoint, or is gone: no message */
	(void)pid;
	return -1;
}

/* consecutive runs of runs from *i alike in held, into part (its
 * addresses moved to the held file's offsets, from *off, when held) */
static int runs_part(const struct run_list *runs, size_t *i, uint64_t *off, struct run_list *part)
{
	int held = runs->v[*i].held, e = 0;
	uint64_t len;

	for (; e == 0 && *i < runs->n && runs->v[*i].held == held; (*i)++) {
		len = runs->v[*i].end - runs->v[*i].start;
		e = held ? run_add(part, *off, *off, *off + len, 0) :
			   run_add(part, runs->v[*i].start, runs->v[*i].start, runs->v[*i].end, 0);
		*off += held ? len : 0;
	}
	return e < 0 ? e : held;
}

int cow_hash_runs(const struct cow *c, const struct run_list *runs, uint64_t *h, uint64_t *bad)
{
	struct run_list part = { 0 };
	uint64_t off = 0, at;
	size_t i = 0;
	int held, e = 0;

	while (e == 0 && i < runs->n) {
		at = runs->v[i].start;
		if ((held = runs_part(runs, &i, &off, &part)) < 0)
			e = held;
		else   /* no process to read from for the held copy: -1 */
			e = index_hash_runs(held ? -1 : c->pid, held ? c->held_fd : c->mem_fd, &part,
					    h, bad);
		if (e < 0 && held >= 0 && held)
			*bad = at;
		h += part.bytes / 4096;
		run_list_free(&part);
	}
	return e;
}

int cow_freeze_channel(pid_t pid, int ch[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch) == 0)
		return 0;
	warn("pid %d: --cow channel: socketpair:", (int)pid);
	return -1;
}

int cow_freeze_ready(int chan)
{
	char b;

	if (read_all(chan, &b, 1) != 1)
		return -1;
	return b == 'S';
}

int cow_freeze_snapshot(int chan)
{
	char b;

	return read_all(chan, &b, 1) == 1 && b == 'K' ? 0 : -1;
}

void cow_freeze_thawed(int chan)
{
	(void)write_all(chan, "T", 1);   /* a stage gone says why at its turn */
}

int cow_freeze_go(int chan, pid_t pid, uint64_t off)
{
	int r = write_all(chan, &off, sizeof off);

	if (r < 0 && r != -EPIPE)   /* EPIPE: it ended, and says why */
		warnerr(r, "pid %d: its ckpt-dumpmem:", (int)pid);
	return r < 0 ? -1 : 0;
}
