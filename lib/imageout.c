/* imageout.c - the manifest, core and threads members, written from
 * what the shim and /proc say of a process (imageout.h) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "imageout.h"
#include "err.h"
#include "escape.h"
#include "io.h"
#include "kproc.h"
#include "machine.h"
#include "sigpeek.h"
#include "maps.h"

static const char *const rlimit_names[16] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio",
	"rttime",
};

static void put_path(FILE *f, const char *key, const char *path)
{
	char esc[4 * 4096 + 1];

	if (str_escape(path, esc, sizeof esc) < 0)
		esc[0] = 0;
	fprintf(f, "%s %s\n", key, esc);
}

void image_id_new(char *out)
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), i;

	if (fd < 0 || read_all(fd, b, sizeof b) != sizeof b)
		die("/dev/urandom:");
	close(fd);
	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* the fields of /proc/PID/stat after the comm, numbered as proc(5),
 * read by us (kproc), not by the shim */
static int stat_fields(const struct kproc *k, unsigned long long *field, int max)
{
	char *s = kproc_read(k, "stat", NULL), *p, *end;
	int n = 3;

	if (!s)
		return -1;
	p = strrchr(s, ')');
	for (p = p ? p + 2 : s; *p && n < max; n++) {
		field[n] = strtoull(p, &end, 10);
		if (end == p)  /* the state letter */
			end++;
		p = end + (*end == ' ');
	}
	free(s);
	return n;
}

/* the name as the program set it (status's Name is escaped already),
 * from /proc/PID as we opened it */
static const char *comm_read(const struct kproc *k, char *out, size_t len)
{
	size_t n = 0;
	char *s = kproc_read(k, "comm", &n);

	if (n > 0 && s[n - 1] == '\n')
		n--;
	snprintf(out, len, "%.*s", s ? (int)n : 0, s ? s : "");
	free(s);
	return out;
}

/* ids, groups, caps and the shared pending set: the kernel's, from
 * /proc/PID as we opened it; securebits only the thread can say */
static int core_ids(FILE *f, const struct core_src *src, const unsigned long long *st)
{
	char *status = kproc_read(src->k, "status", NULL), v[4096];
	struct kcreds c;

	if (!status || kcreds_parse(status, &c) < 0) {
		warn("pid %d: /proc/%d/status:", (int)src->pid, (int)src->pid);
		free(status);
		return -1;
	}
	fprintf(f, "pid %d\nppid %llu\npgid %llu\nsid %llu\nstarttime %llu\n", (int)src->pid,
		st[4], st[5], st[6], st[22]);
	put_path(f, "comm", comm_read(src->k, v, sizeof v));
	kcreds_write(f, &c, src->securebits);
	fprintf(f, "sigpending 0x%s\n", status_value(status, "ShdPnd", v, sizeof v));
	free(status);
	return strtoull(v, NULL, 16) ? sigpeek_lines(f, src->pid, src->pid, 1) : 0;
}

static void core_mm(FILE *f, const struct core_src *src, const unsigned long long *st)
{
	static const int mm_fields[] = { 26, 27, 45, 46, 47, 28, 48, 49, 50, 51 };
	uint64_t av[2];
	char *auxv;
	size_t len, i;

	fprintf(f, "brk 0x%" PRIx64 "\nmm", src->rec->brk);
	for (i = 0; i < sizeof mm_fields / sizeof *mm_fields; i++)
		fprintf(f, " 0x%llx", st[mm_fields[i]]);
	fputc('\n', f);
	auxv = read_fd_all(src->fds[CKPT_PROCFD_AUXV], &len);
	for (i = 0; auxv && i + sizeof av <= len; i += sizeof av) {
		memcpy(av, auxv + i, sizeof av);
		if (av[0] == 0)
			break;
		fprintf(f, "auxv 0x%" PRIx64 " 0x%" PRIx64 "\n", av[0], av[1]);
	}
	free(auxv);
}

static void put_limit(FILE *f, uint64_t v)
{
	if (v == UINT64_MAX)
		fputs(" unlimited", f);
	else
		fprintf(f, " %" PRIu64, v);
}

static void core_signals(FILE *f, const struct ckpt_proc_rec *r)
{
	static const char *const timers[3] = { "real", "virtual", "prof" };
	const struct ckpt_ksigaction *a;
	const struct ckpt_itimer *it;
	int i;

	for (i = 0; i < 16; i++) {
		fprintf(f, "rlimit %s", rlimit_names[i]);
		put_limit(f, r->rlimit[i].cur);
		put_limit(f, r->rlimit[i].max);
		fputc('\n', f);
	}
	for (i = 0; i < 64; i++) {
		a = &r->sigaction[i];
		if (a->handler || a->flags)
			fprintf(f, "sigaction %d 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
				i + 1, a->handler, a->flags, a->restorer, a->mask);
	}
	for (i = 0; i < 3; i++) {
		it = &r->itimer[i];
		fprintf(f, "itimer %s %lld.%06lld %lld.%06lld\n", timers[i],
			(long long)it->interval.sec, (long long)it->interval.usec,
			(long long)it->value.sec, (long long)it->value.usec);
	}
}

/* [vvar] and [vvar_vclock] where they are; [vdso] with a hash of it */
static void core_vdso(FILE *f, const struct core_src *src)
{
	size_t len, n, i, bad;
	char *maps = read_fd_all(src->fds[CKPT_PROCFD_MAPS], &len);
	struct map_region *r = NULL;
	unsigned char *buf;
	uint64_t lo, hi;

	if (!maps || maps_parse(maps, len, &r, &n, &bad) < 0)
		n = 0;
	for (i = 0; i < n; i++) {
		lo = r[i].start, hi = r[i].end;
		if (map_path_is(&r[i], "[vvar]") || map_path_is(&r[i], "[vvar_vclock]"))
			fprintf(f, "%.*s 0x%" PRIx64 " 0x%" PRIx64 "\n",
				(int)r[i].pathlen - 2, r[i].path + 1, lo, hi);
		if (!map_path_is(&r[i], "[vdso]") || hi - lo > 1 << 20)
			continue;
		buf = malloc(hi - lo);
		if (buf && pread(src->fds[CKPT_PROCFD_MEM], buf, hi - lo, lo) == (ssize_t)(hi - lo))
			fprintf(f, "vdso 0x%" PRIx64 " 0x%" PRIx64 " 0x%016" PRIx64 "\n", lo, hi,
				vdso_hash(buf, hi - lo));
		else
			warn("pid %d: vdso at 0x%" PRIx64 ": cannot read it:", (int)src->pid, lo);
		free(buf);
	}
	free(r);
	free(maps);
}

int manifest_write(FILE *f, const struct core_src *src)
{
	struct utsname u;
	struct timespec ts;

	uname(&u);
	ts = src->time;
	if (!ts.tv_sec)
		clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "ckpt-image 1\ntool ckpt-freeze 0.1\nkernel %s\narch %s\n",
		u.release, u.machine);
	fprintf(f, "time %lld.%09ld\nid %s\nparent %s\npacked 0\nkill %d\n",
		(long long)ts.tv_sec, ts.tv_nsec, src->id,
		src->parent && *src->parent ? src->parent : "-", src->kill);
	fprintf(f, "root %d\n", (int)src->pid);
	return 0;
}

/* one number of a /proc/PID file (oom_score_adj, loginuid), as the
 * kernel wrote it: 0, or -1 when the file is absent or not a number */
static int proc_number(const struct kproc *k, const char *rel, long long *v)
{
	char *s = kproc_read(k, rel, NULL), *end;
	int r = -1;

	if (s) {
		errno = 0;
		*v = strtoll(s, &end, 10);
		r = end != s && !errno && (*end == '\n' || !*end) ? 0 : -1;
	}
	free(s);
	return r;
}

/* The process attributes a restore sets again: oom_score_adj, loginuid
 * and THP disable from the kernel (a kernel without audit or THP has
 * no such file or line, and the image no line); the child-subreaper
 * flag from the shim, since only the process can read it. */
static void core_attrs(FILE *f, const struct core_src *src)
{
	char *status = kproc_read(src->k, "status", NULL), v[32];
	long long n;

	if (proc_number(src->k, "oom_score_adj", &n) == 0)
		fprintf(f, "oom-score-adj %lld\n", n);
	if (proc_number(src->k, "loginuid", &n) == 0)
		fprintf(f, "loginuid %lld\n", n);
	/* the kernel's word for a full disable; the "except advised" mode
	 * (PR_THP_DISABLE_EXCEPT_ADVISED) only the process can see */
	if (status && *status_value(status, "THP_enabled", v, sizeof v))
		fprintf(f, "thp-disable %d\n", !strcmp(v, "0") ? 1 : src->rec->thp_disable == 3 ? 3 : 0);
	free(status);
	fprintf(f, "child-subreaper %u\n", src->rec->subreaper != 0);
}

/* the command line, for people (ckpt-show): the arguments escaped and
 * joined by the four characters \000 (an argument never holds a NUL),
 * as many whole ones as fit in CMDLINE_MAX bytes; a restore ignores it */
#define CMDLINE_MAX 4096
static void core_cmdline(FILE *f, const struct kproc *k)
{
	char *s, esc[4 * CMDLINE_MAX + 1];
	size_t n = 0, i;

	s = kproc_read(k, "cmdline", &n);
	fputs("cmdline", f);
	for (i = 0; s && i < n && i + strlen(s + i) < CMDLINE_MAX; i += strlen(s + i) + 1) {
		if (str_escape(s + i, esc, sizeof esc) < 0)
			break;
		fprintf(f, "%s%s", i ? "\\000" : " ", esc);
	}
	fputc('\n', f);
	free(s);
}

int core_write(FILE *f, const struct core_src *src)
{
	const struct ckpt_proc_rec *r = src->rec;
	unsigned long long st[64] = { 0 };

	char exe[4096];

	if (stat_fields(src->k, st, 64) < 52) {
		warn("pid %d: /proc/%d/stat: too short", (int)src->pid, (int)src->pid);
		return -1;
	}
	if (kproc_link(src->k, "exe", exe, sizeof exe) < 0) {
		warn("pid %d: /proc/%d/exe:", (int)src->pid, (int)src->pid);
		return -1;
	}
	if (core_ids(f, src, st) < 0)
		return -1;
	fprintf(f, "umask 0%03o\n", r->umask);
	put_path(f, "cwd", r->cwd);
	put_path(f, "exe", exe);
	core_cmdline(f, src->k);
	fprintf(f, "personality 0x%x\ndumpable %u\n", r->personality, r->dumpable);
	core_attrs(f, src);
	core_mm(f, src, st);
	core_signals(f, r);
	fprintf(f, "freeze-signal %u\ncontrol-tid %u\nrestart-entry 0x%" PRIx64 "\n",
		r->signal, r->ctl_tid, r->restart_entry);
	fprintf(f, "control-stack 0x%" PRIx64 "\nxcr0 0x%" PRIx64 "\n", r->ctl_stack, r->xcr0);
	core_vdso(f, src);
	return 0;
}

/* One thread's record: the shim's (where it parked, what only the
 * thread can see) and the kernel's (its pending set and credentials,
 * read from /proc/PID/task/TID by us: a tid not of this process has
 * none, and is refused). */
static int thread_write(FILE *f, const struct kproc *k, const struct ckpt_thread_rec *t)
{
	const struct ckpt_park *p = &t->park;
	char comm[17], rel[64], v[64], *status;
	struct kcreds c;
	int i, top;

	snprintf(rel, sizeof rel, "task/%u/status", t->tid);
	status = kproc_read(k, rel, NULL);
	if (!status || kcreds_parse(status, &c) < 0) {
		warn("pid %d: thread %u: /proc/%d/%s:", (int)k->pid, t->tid, (int)k->pid, rel);
		free(status);
		return -1;
	}
	fprintf(f, "thread %u\nrole %s\nframe 0x%" PRIx64 "\n", t->tid,
		t->role == CKPT_ROLE_CONTROL ? "control" : "program", t->frame);
	fprintf(f, "fs 0x%" PRIx64 "\ngs 0x%" PRIx64 "\nsigmask 0x%" PRIx64 "\n",
		t->fs_base, t->gs_base, t->sigmask);
	fprintf(f, "sigpending 0x%s\n", status_value(status, "SigPnd", v, sizeof v));
	free(status);
	if (strtoull(v, NULL, 16) && sigpeek_lines(f, k->pid, t->tid, 0) < 0)
		return -1;
	fprintf(f, "altstack 0x%" PRIx64 " %" PRIu64 " %u\n", t->altstack_sp,
		t->altstack_size, t->altstack_flags);
	fprintf(f, "rseq 0x%" PRIx64 " %u 0x%x\n", t->rseq_addr, t->rseq_len, t->rseq_sig);
	fprintf(f, "robust 0x%" PRIx64 " %" PRIu64 "\n", t->robust_head, t->robust_len);
	fprintf(f, "cleartid 0x%" PRIx64 "\npdeathsig %u\naffinity 0x", t->clear_tid, t->pdeathsig);
	for (top = 15; top > 0 && !t->affinity[top]; top--)
		;
	fprintf(f, "%" PRIx64, t->affinity[top]);
	for (i = top - 1; i >= 0; i--)
		fprintf(f, "%016" PRIx64, t->affinity[i]);
	memcpy(comm, t->comm, 16);
	comm[16] = 0;
	fputc('\n', f);
	put_path(f, "comm", comm);
	kcreds_write(f, &c, t->securebits);
	fprintf(f, "park 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
		" 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
		p->rip, p->rsp, p->rbx, p->rbp, p->r12, p->r13, p->r14, p->r15);
	return 0;
}

int threads_write(FILE *f, const struct kproc *k, const struct ckpt_thread_rec *t, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (thread_write(f, k, &t[i]) < 0)
			return -1;
	return 0;
}
