/* timers.c - POSIX timers in the image (formats/timers.md): the member
 * proc/PID/timers, written at the freeze and read at the restore. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "memberout.h"
#include "text.h"
#include "timers.h"

/* a CPU-time clock names a process or thread (posix-cpu-timers.h);
 * pid 0 with the per-thread bit, or CLOCK_THREAD_CPUTIME_ID as such,
 * is the thread that made the timer, which /proc/PID/timers does not
 * name */
#define CPUCLOCK_PID(c) (~((c) >> 3))
#define CPUCLOCK_PERTHREAD 4
#define CLOCK_OF_CALLER(c) ((c) == CLOCK_THREAD_CPUTIME_ID || \
			    ((c) < 0 && CPUCLOCK_PID(c) == 0 && ((c) & CPUCLOCK_PERTHREAD)))

/* One timer of /proc/PID/timers, the kernel's words:
 *   ID: 3 / signal: 34/0000000000001234 / notify: signal/tid.77 /
 *   ClockID: 1 */
static int proc_timer_line(const char *l, struct plan_timer *p)
{
	char kind[16], whom[8];
	int32_t target;

	if (sscanf(l, "ID: %" SCNd32, &p->id) == 1 ||
	    sscanf(l, "signal: %" SCNd32 "/%" SCNx64, &p->signo, &p->value) == 2 ||
	    sscanf(l, "ClockID: %" SCNd32, &p->clock) == 1)
		return 0;
	if (sscanf(l, "notify: %15[a-z]/%7[a-z].%" SCNd32, kind, whom, &target) != 3)
		return -1;
	p->notify = !strcmp(kind, "none") ? SIGEV_NONE : !strcmp(kind, "thread") ? SIGEV_THREAD :
		    SIGEV_SIGNAL;
	if (!strcmp(whom, "tid")) {
		p->notify |= SIGEV_THREAD_ID;
		p->tid = target;
	}
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct plan_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* the kernel's list, by id; count, or -1 (after a message unless
 * quiet) */
static long proc_timers(pid_t pid, struct plan_timer **v, int quiet)
{
	char path[64], line[256];
	long n = 0;
	FILE *f;

	*v = NULL;
	snprintf(path, sizeof path, "/proc/%d/timers", (int)pid);
	if (!(f = fopen(path, "re")))
		return quiet ? -1 : (warn("pid %d: %s:", (int)pid, path), -1);
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "ID:", 3)) {
			if (!(*v = realloc(*v, (n + 1) * sizeof **v)))
				die("out of memory");
			memset(&(*v)[n++], 0, sizeof **v);
		}
		if (!n || proc_timer_line(line, &(*v)[n - 1]) < 0) {
			fclose(f);
			return quiet ? -1 : (warn("pid %d: %s: cannot read the line %s", (int)pid, path, line), -1);
		}
	}
	fclose(f);
	if (n)
		qsort(*v, n, sizeof **v, by_id);
	return n;
}

/* the threads of pid but the shim's control thread: more than one,
 * and a timer on its maker's CPU clock may be any one's */
static int program_threads(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* what a restore could not make again: -1 after a message naming it */
static int timer_refused(pid_t pid, const struct plan_timer *p)
{
	char task[64];
	int cpid = p->clock < 0 ? CPUCLOCK_PID(p->clock) : 0;

	if (CLOCK_OF_CALLER(p->clock) && program_threads(pid) != 1)
		return warn("pid %d: POSIX timer %d: on the CPU clock of the thread that made it "
			    "(clock %d), which the kernel does not name, in a process of several threads: "
			    "cannot be restored", (int)pid, p->id, p->clock), -1;

	snprintf(task, sizeof task, "/proc/%d/task/%d", (int)pid, cpid);
	if (cpid && access(task, F_OK) < 0)
		return warn("pid %d: POSIX timer %d: on the CPU clock of process %d, which is not in "
			    "the checkpoint: cannot be restored", (int)pid, p->id, cpid), -1;
	return 0;
}

/* the times of v[0..n) from the shim, CKPT_TIMERS_MAX at a time */
static int timers_times(int sock, pid_t pid, struct plan_timer *v, long n)
{
	static struct ckpt_timer_rec recs[CKPT_TIMERS_MAX];
	int32_t ids[CKPT_TIMERS_MAX];
	long i, k, j;
	int r;

	for (i = 0; i < n; i += k) {
		k = n - i < (long)CKPT_TIMERS_MAX ? n - i : (long)CKPT_TIMERS_MAX;
		for (j = 0; j < k; j++)
			ids[j] = v[i + j].id;
		struct ctl_call c = { .op = CKPT_OP_TIMERS, .payload = ids, .len = k * sizeof *ids,
				      .reply = recs, .replen = sizeof recs };
		if ((r = ctl_call(sock, &c)) < 0 || c.replen != k * sizeof *recs)
			return warnerr(r ? r : -EPROTO, "pid %d: the times of its POSIX timers:", (int)pid), -1;
		for (j = 0; j < k; j++) {
			if (recs[j].id != v[i + j].id)
				return warn("pid %d: POSIX timer %d: the shim answered for %d", (int)pid,
					    v[i + j].id, recs[j].id), -1;
			v[i + j].interval = recs[j].interval;
			v[i + j].value_left = recs[j].value;
			v[i + j].overrun = recs[j].overrun;
		}
	}
	return 0;
}

static void notify_put(FILE *f, const struct plan_timer *p)
{
	if (p->notify & SIGEV_THREAD_ID)
		fprintf(f, "tid=%" PRId32, p->tid);
	else
		fputs(p->notify == SIGEV_NONE ? "none" : p->notify == SIGEV_THREAD ? "thread" : "signal", f);
}

static int timers_member(struct tar_out *t, pid_t pid, const struct plan_timer *v, long n)
{
	struct member m;
	FILE *f = member_open(&m, "proc/%d/timers", (int)pid);
	long i;

	for (i = 0; i < n; i++) {
		fprintf(f, "timer %" PRId32 " %" PRId32 " ", v[i].id, v[i].clock);
		notify_put(f, &v[i]);
		fprintf(f, " %" PRId32 " 0x%" PRIx64 " %" PRId64 ".%09" PRId64 " %" PRId64 ".%09" PRId64
			" %" PRIu32 "\n", v[i].signo, v[i].value, v[i].value_left.sec,
			v[i].value_left.nsec, v[i].interval.sec, v[i].interval.nsec, v[i].overrun);
	}
	return member_close(&m, t);
}

int timers_dump(struct tar_out *t, int sock, pid_t pid)
{
	struct plan_timer *v = NULL;
	long n = proc_timers(pid, &v, 0), i;
	int r = n < 0 ? -1 : 0;

	for (i = 0; r == 0 && i < n; i++)
		r = timer_refused(pid, &v[i]);
	if (r == 0 && n > 0)
		r = timers_times(sock, pid, v, n) < 0 ? -1 : timers_member(t, pid, v, n);
	free(v);
	return r;
}

/* reading the member */

static int bad(const struct text *l, const char *why)
{
	return text_bad(l, why);
}

static int signed_num(const char *s, uint64_t max, int32_t *v)
{
	uint64_t u;

	if (num_parse(s + (*s == '-'), max, &u) < 0)
		return -1;
	*v = *s == '-' ? -(int64_t)u : (int64_t)u;
	return 0;
}

/* "SECS.NANOSECS", exactly 9 decimals */
static int secs9(const char *s, struct ckpt_timespec *ts)
{
	uint64_t sec = 0, nsec = 0;
	int r = num_secs(s, 9, &sec, &nsec);

	*ts = (struct ckpt_timespec){ (int64_t)sec, (int64_t)nsec };
	return r < 0 || sec > INT64_MAX ? -1 : 0;
}

static int thread_known(const struct img_thread *thr, unsigned nthr, int32_t tid)
{
	unsigned i;

	for (i = 0; i < nthr; i++)
		if (thr[i].tid == tid)
			return 1;
	return 0;
}

static int notify_parse(const struct text *l, const char *s, struct plan_timer *p,
			const struct img_thread *thr, unsigned nthr)
{
	uint64_t tid;

	if (!strncmp(s, "tid=", 4)) {
		if (num_parse(s + 4, NUM_INT_MAX, &tid) < 0)
			return bad(l, "malformed thread");
		if (!thread_known(thr, nthr, tid))
			return bad(l, "the timer signals a thread the image does not have");
		p->notify = SIGEV_SIGNAL | SIGEV_THREAD_ID;
		p->tid = tid;
		return 0;
	}
	p->notify = !strcmp(s, "signal") ? SIGEV_SIGNAL : !strcmp(s, "none") ? SIGEV_NONE :
		    !strcmp(s, "thread") ? SIGEV_THREAD : -1;
	return p->notify < 0 ? bad(l, "unknown notification") : 0;
}

/* timer ID CLOCK NOTIFY SIGNO VALUE NEXT INTERVAL OVERRUN */
static int timer_line(const struct text *l, struct plan_timer *p, const struct img_thread *thr,
		      unsigned nthr)
{
	uint64_t v;

	memset(p, 0, sizeof *p);
	if (l->n != 9 || strcmp(l->f[0], "timer"))
		return bad(l, "not a timer line");
	if (signed_num(l->f[1], NUM_INT_MAX, &p->id) < 0 || p->id < 0 ||
	    signed_num(l->f[2], NUM_INT_MAX, &p->clock) < 0)
		return bad(l, "malformed id or clock");
	if (notify_parse(l, l->f[3], p, thr, nthr) < 0)
		return -1;
	if (num_parse(l->f[4], 64, &v) < 0 || (p->notify != SIGEV_NONE && v == 0))
		return bad(l, "no such signal");
	p->signo = v;
	if (num_parse_base(l->f[5], 16, UINT64_MAX, &p->value) < 0 ||
	    secs9(l->f[6], &p->value_left) < 0 || secs9(l->f[7], &p->interval) < 0 ||
	    num_parse(l->f[8], NUM_INT_MAX, &v) < 0)
		return bad(l, "malformed value, time or overrun");
	p->overrun = v;
	return 0;
}

int timers_parse(char *text, const char *name, const struct img_thread *thr, unsigned nthr,
		 struct plan_timer **v, unsigned *n)
{
	struct text l;
	int r;

	text_init(&l, text, strlen(text), name);
	*v = NULL;
	*n = 0;
	while ((r = text_record(&l, 9)) > 0) {
		if (*n == NUM_INT_MAX || !(*v = realloc(*v, (*n + 1) * sizeof **v)))
			die("out of memory");
		if (timer_line(&l, &(*v)[*n], thr, nthr) < 0)
			return -1;
		if (*n && (*v)[*n].id <= (*v)[*n - 1].id)
			return bad(&l, "timer ids not in rising order");
		++*n;
	}
	return r;
}
