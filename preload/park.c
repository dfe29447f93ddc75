/* park.c - the shim's side of a freeze (lib/freeze.c is the tools'):
 * stopping every thread in its park, in the freeze handler, and
 * letting them go.
 *
 * Runs in signal handlers and in the control thread while the other
 * threads are frozen: rawsys.h calls and static storage only.  No malloc,
 * no stdio, no locks, no errno. */
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "shim.h"
#include "rawsys.h"

struct slot {
	struct ckpt_thread_rec rec;
	volatile int parked;
};

/* Slots in chunks, so none ever moves (a parked thread and a restored
 * one hold a pointer to its own): the first is static, the others are
 * mapped by the control thread before it signals the threads that will
 * claim them.  No fixed cap but the kernel's own (CKPT_THREADS_MAX). */
#define CHUNK 1024
static struct slot first_chunk[CHUNK];
static struct slot *chunks[CKPT_THREADS_MAX / CHUNK] = { first_chunk };
static volatile int nroom = CHUNK;        /* slots with storage */
static struct ckpt_thread_rec ctl_rec;    /* the control thread's own */
static volatile int freeze_word;          /* 1 while frozen: the futex parked threads wait on */
static volatile int nslots;               /* slots claimed in this freeze */
static volatile int nactive;              /* threads inside the handler */
static volatile int progress;             /* bumped at each park: the control thread waits on it */
static volatile int resumed;              /* program threads back from a restore */

static struct slot *slot_at(int i)
{
	return &chunks[i / CHUNK][i % CHUNK];
}

/* slots claimed that have storage (a claim past the room is refused) */
static int claimed(void)
{
	return nslots < nroom ? nslots : nroom;
}
/* tid lists of the control thread alone: grown by mmap, never freed */
struct tids {
	int *v, *first;
	int n, cap;
};
static int first_tasks[CHUNK], first_signaled[CHUNK];
static struct tids tasks = { first_tasks, first_tasks, 0, CHUNK };
static struct tids signaled = { first_signaled, first_signaled, 0, CHUNK };
/* threads the freeze signal reached but cannot stop: they block it (in
 * the kernel's mask, by a call the shim does not see: glibc's timer
 * helper thread blocks every signal).  ckpt-freeze brings each to its
 * park with ptrace (CKPT_OP_ADOPT, lib/seize.c). */
#define BLOCKED_MAX (CKPT_MSG_MAX / sizeof(uint32_t))
static uint32_t blocked[BLOCKED_MAX];
static int nblocked;
/* an adopted thread's own mask, given back in its frame when the
 * freeze signal comes: ckpt-freeze opened the freeze signal in it */
#define FIXES_MAX 64
static struct { volatile int tid; uint64_t mask; } fixes[FIXES_MAX];
#define BLOCKED_GRACE_MS 20  /* pthread_create and the like block every
			      * signal for a moment: wait that out first */
static int scan_progress;                 /* progress at the last scan */
static int send_err;                      /* last failed rt_tgsigqueueinfo, -errno */
static int send_err_tid;                  /* and the thread it was for */

static void futex_wait(volatile int *w, int val, long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	sys_futex(w, FUTEX_WAIT_PRIVATE, val, ms >= 0 ? &ts : NULL);
}

static void futex_wake(volatile int *w)
{
	sys_futex(w, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
}

/* the program's own handler, for a signal that is not our freeze */
static void forward(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *a = &ckpt_prog_action;
	struct { uint64_t h, f, r, m; } dfl = { 0, 0, 0, 0 };

	if (a->sa_handler == SIG_IGN)
		return;
	if (a->sa_handler == SIG_DFL) {
		/* a real-time signal's default is to terminate */
		sys_rt_sigaction(sig, &dfl, NULL);
		sys_tgsigqueueinfo(sys_getpid(), sys_gettid(), sig, si);
		return;
	}
	if (a->sa_flags & SA_SIGINFO)
		a->sa_sigaction(sig, si, uc);
	else
		a->sa_handler(sig);
}

/* rseq: the area glibc registered for this thread, if any.  The kernel
 * answers EBUSY to a second registration of exactly the same area,
 * length and signature, so that tells which length is registered.  A
 * thread with no area at all (the program unregistered glibc's) takes
 * the probe as a registration: it is undone at once.  EINVAL to every
 * length: another area is registered, the program's own, which only
 * ptrace can name (ckpt-freeze asks the kernel: lib/sigpeek.c).  With
 * no area of glibc's (GLIBC_TUNABLES=glibc.pthread.rseq=0) the probe
 * is an area on our stack, registered and undone at once. */
extern __attribute__((weak)) const ptrdiff_t __rseq_offset;
extern __attribute__((weak)) const unsigned int __rseq_size;
#define RSEQ_SIG 0x53053053

static void record_rseq_none(struct ckpt_thread_rec *r)
{
	uint64_t probe[4] __attribute__((aligned(32))) = { 0, 0, 0, 0 };
	long e = sys_rseq((uintptr_t)probe, 32, 0, RSEQ_SIG);

	if (e == 0)
		sys_rseq((uintptr_t)probe, 32, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG);
	else if (e == -22 /* EINVAL */ || e == -16 /* EBUSY */)
		r->flags |= CKPT_THREAD_RSEQ_OWN;
}

static void record_rseq(struct ckpt_thread_rec *r, uint64_t fs)
{
	static const uint32_t lens[] = { 32, 64, 128 };
	uint64_t area;
	unsigned i;
	long e;

	r->rseq_addr = 0;
	r->flags &= ~CKPT_THREAD_RSEQ_OWN;
	if (!&__rseq_offset || !&__rseq_size || !__rseq_size)
		return record_rseq_none(r);
	area = fs + __rseq_offset;
	for (i = 0; i < sizeof lens / sizeof *lens; i++) {
		e = sys_rseq(area, lens[i], 0, RSEQ_SIG);
		if (e == 0) {  /* none was registered: undo the probe */
			sys_rseq(area, lens[i], 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG);
			return;
		}
		if (e == -16 /* EBUSY */) {
			r->rseq_addr = area;
			r->rseq_len = lens[i];
			r->rseq_sig = RSEQ_SIG;
			return;
		}
	}
	if (e == -22 /* EINVAL */)
		r->flags |= CKPT_THREAD_RSEQ_OWN;
}

/* what only the thread itself can see */
void thread_record_self(struct ckpt_thread_rec *r)
{
	stack_t ss;
	uint64_t v = 0;
	size_t len = 0;
	int sig = 0;

	r->tid = sys_gettid();
	sys_arch_prctl(0x1003 /* ARCH_GET_FS */, (uintptr_t)&r->fs_base);
	sys_arch_prctl(0x1004 /* ARCH_GET_GS */, (uintptr_t)&r->gs_base);
	if (sys_sigaltstack(NULL, &ss) == 0) {
		r->altstack_sp = (uintptr_t)ss.ss_sp;
		r->altstack_size = ss.ss_size;
		r->altstack_flags = ss.ss_flags;
	}
	record_rseq(r, r->fs_base);
	if (sys_get_robust_list(0, &v, &len) == 0) {
		r->robust_head = v;
		r->robust_len = len;
	}
	v = 0;
	if (sys_prctl(40 /* PR_GET_TID_ADDRESS */, (uintptr_t)&v, 0, 0, 0) == 0)
		r->clear_tid = v;
	if (sys_prctl(2 /* PR_GET_PDEATHSIG */, (uintptr_t)&sig, 0, 0, 0) == 0)
		r->pdeathsig = sig;
	sys_sched_getaffinity(0, sizeof r->affinity, r->affinity);
	sys_prctl(16 /* PR_GET_NAME */, (uintptr_t)r->comm, 0, 0, 0);
	r->securebits = sys_prctl(27 /* PR_GET_SECUREBITS */, 0, 0, 0, 0);
}

/* membarrier registrations are the process's (its mm's): recorded at
 * each freeze, made again by every restored thread before it runs the
 * program's code, so none can find them missing (registering twice is
 * harmless).  Each set bit is the command that registered it. */
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)   /* Linux 6.3 */
static long membarrier_regs;

static void membarrier_redo(void)
{
	int bit;

	for (bit = 0; bit < 31; bit++)
		if (membarrier_regs > 0 && (membarrier_regs >> bit & 1))
			sys_membarrier(1 << bit, 0, 0);
}

/* after a restore: what the kernel forgot about this thread */
void thread_redo(const struct ckpt_thread_rec *r)
{
	membarrier_redo();
	if (r->rseq_addr) {
		/* a stale critical-section pointer would abort the first
		 * preemption; the area is the thread's own */
		((volatile uint64_t *)r->rseq_addr)[1] = 0;
		sys_rseq(r->rseq_addr, r->rseq_len, 0, r->rseq_sig);
	}
	if (r->robust_head)
		sys_set_robust_list(r->robust_head, r->robust_len);
	sys_set_tid_address(r->clear_tid);
	sys_sched_setaffinity(0, sizeof r->affinity, r->affinity);
	sys_prctl(1 /* PR_SET_PDEATHSIG */, r->pdeathsig, 0, 0, 0);
	sys_prctl(15 /* PR_SET_NAME */, (uintptr_t)r->comm, 0, 0, 0);
}

/* 0 after a thaw; 1 when a restorer jumped back here with the saved
 * registers (rax = 1): the freeze counters then belong to a process
 * that no longer exists, and the restarted control thread resets them */
static int park(struct slot *s)
{
	if (ckpt_park_save(&s->rec.park) == 0) {
		__atomic_store_n(&s->parked, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&progress, 1, __ATOMIC_SEQ_CST);
		futex_wake(&progress);
		while (__atomic_load_n(&freeze_word, __ATOMIC_ACQUIRE))
			futex_wait(&freeze_word, 1, -1);
		return 0;
	}
	__atomic_add_fetch(&resumed, 1, __ATOMIC_SEQ_CST);
	futex_wake(&resumed);
	thread_redo(&s->rec);
	return 1;
}

/* An adopted thread: ckpt-freeze took the freeze signal out of its mask
 * with ptrace (PTRACE_SETSIGMASK) to let it come; the frame gets the
 * thread's own mask back, so the thaw's sigreturn and a restore's give
 * it exactly.  Only if the mask is still the one ckpt-freeze set: a
 * program that changed its mask since (a ckpt-freeze killed before it
 * opened the signal, and the program opened it itself) keeps its own.
 * Used once. */
static void mask_fixup(ucontext_t *uc, int tid, int sig)
{
	uint64_t m;
	int i;

	for (i = 0; i < FIXES_MAX; i++) {
		if (__atomic_load_n(&fixes[i].tid, __ATOMIC_ACQUIRE) != tid)
			continue;
		memcpy(&m, &uc->uc_sigmask, sizeof m);
		if (m == (fixes[i].mask & ~(1ULL << (sig - 1))))
			memcpy(&uc->uc_sigmask, &fixes[i].mask, sizeof m);
		__atomic_store_n(&fixes[i].tid, 0, __ATOMIC_RELEASE);
		return;
	}
}

int freeze_is_ours(int sig, const siginfo_t *si)
{
	return sig == ckpt_sig && si->si_code == SI_QUEUE &&
	       si->si_value.sival_int == (int)CKPT_FREEZE_MAGIC &&
	       si->si_pid == sys_getpid();
}

void freeze_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct slot *s;
	int i;

	if (!freeze_is_ours(sig, si)) {
		/* a wake is for sigwrap's waiters only; a signal the
		 * program blocks waits until it unblocks or waits for it */
		if (!sigwrap_is_wake(si) && !sigwrap_hold(si))
			forward(sig, si, ucv);
		return;
	}
	__atomic_add_fetch(&nactive, 1, __ATOMIC_SEQ_CST);
	mask_fixup(uc, sys_gettid(), sig);
	if (__atomic_load_n(&freeze_word, __ATOMIC_ACQUIRE)) {
		i = __atomic_fetch_add(&nslots, 1, __ATOMIC_SEQ_CST);
		if (i < __atomic_load_n(&nroom, __ATOMIC_ACQUIRE)) {
			s = slot_at(i);
			memset(&s->rec, 0, sizeof s->rec);
			s->parked = 0;
			thread_record_self(&s->rec);
			s->rec.role = CKPT_ROLE_PROGRAM;
			s->rec.frame = (uintptr_t)uc;
			memcpy(&s->rec.sigmask, &uc->uc_sigmask, sizeof s->rec.sigmask);
			if (park(s))
				return;  /* sigreturn into the restored program */
		}
	}
	__atomic_sub_fetch(&nactive, 1, __ATOMIC_SEQ_CST);
	futex_wake(&nactive);
}

static void *map_anon(size_t len)
{
	long p = sys_mmap(0, len, 3 /* PROT_READ|PROT_WRITE */,
			  0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);

	return p < 0 && p > -4096 ? NULL : (void *)p;
}

/* append tid; 0 or -ENOMEM */
static int tids_add(struct tids *a, int tid)
{
	int *v;

	if (a->n == a->cap) {
		if (a->cap >= CKPT_THREADS_MAX || !(v = map_anon(2 * a->cap * sizeof *v)))
			return -12; /* ENOMEM */
		memcpy(v, a->v, a->n * sizeof *v);
		if (a->v != a->first)
			sys_munmap((uintptr_t)a->v, a->cap * sizeof *v);
		a->v = v;
		a->cap *= 2;
	}
	a->v[a->n++] = tid;
	return 0;
}

static int tids_has(const struct tids *a, int tid)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->v[i] == tid)
			return 1;
	return 0;
}

/* storage for want slots before that many threads may claim them;
 * 0 or -ENOMEM */
static int slots_room(int want)
{
	int k;

	while (nroom < want) {
		k = nroom / CHUNK;
		if (k >= CKPT_THREADS_MAX / CHUNK ||
		    !(chunks[k] = map_anon(CHUNK * sizeof(struct slot))))
			return -12; /* ENOMEM */
		__atomic_store_n(&nroom, nroom + CHUNK, __ATOMIC_RELEASE);
	}
	return 0;
}

static void task_add(int tid, int dirfd, void *err)
{
	(void)dirfd;
	if (tid > 0 && tids_add(&tasks, tid) < 0)
		*(int *)err = -12; /* ENOMEM */
}

/* the tids of this process, into tasks; count or -errno */
static int list_tasks(void)
{
	int err = 0, r;

	tasks.n = 0;
	r = procdir_each("/proc/self/task", task_add, &err);
	return r < 0 ? r : err < 0 ? err : tasks.n;
}

static int tid_parked(int tid)
{
	int i, n = claimed();

	for (i = 0; i < n; i++)
		if (slot_at(i)->rec.tid == (uint32_t)tid && slot_at(i)->parked)
			return 1;
	return 0;
}

/* a hex number of 16 digits at p */
static uint64_t hex64(const char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 16; i++, p++)
		v = v << 4 | (uint64_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
	return v;
}

/* what the kernel says of thread tid of this process: its State letter
 * and its blocked and (thread-)pending signals; 0 or -errno (-ENOENT:
 * it is gone) */
struct task_view { char state; uint64_t blk, pnd; };
static int task_view(int tid, struct task_view *v)
{
	static char buf[4096];
	static const char pre[] = "/proc/self/task/";
	char path[64], *p;
	long fd, n;
	size_t k = sizeof pre - 1;

	memcpy(path, pre, k);
	k += fmt_ulong(path + k, tid);
	memcpy(path + k, "/status", 8);
	if ((fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0)) < 0)
		return fd;
	n = sys_read(fd, buf, sizeof buf - 1);
	sys_close(fd);
	if (n <= 0)
		return n < 0 ? n : -2; /* ENOENT */
	buf[n] = 0;
	v->state = (p = strstr(buf, "\nState:\t")) ? p[8] : 'X';
	if (!(p = strstr(buf, "\nSigPnd:\t")))
		return -2;
	v->pnd = hex64(p + 9);
	if (!(p = strstr(buf, "\nSigBlk:\t")))
		return -2;
	v->blk = hex64(p + 9);
	return 0;
}

static uint64_t sig_bit(int sig)
{
	return 1ULL << (sig - 1);
}

/* A thread signaled in this freeze that has not parked: 1 when it never
 * will by itself, as the kernel tells it: it is gone or a zombie (the
 * main thread that exited while others run: ckpt-freeze refuses that)
 * or it blocks the freeze signal (then it goes on the blocked list
 * too); else 0 */
static int straggler_stuck(int tid)
{
	struct task_view v;

	if (task_view(tid, &v) < 0 || v.state == 'Z' || v.state == 'X')
		return 1;
	if (!(v.blk & sig_bit(ckpt_sig)))
		return 0;
	if (nblocked < (int)BLOCKED_MAX)
		blocked[nblocked++] = tid;
	return nblocked < (int)BLOCKED_MAX;
}

/* signal what is not parked yet; the first such tid, 0 if all are, or
 * -ENOMEM when there is no room for their records */
static int signal_stragglers(int n)
{
	siginfo_t si;
	int i, me = ckpt_ctl_tid, pid = sys_getpid(), first = 0, r, p, look;

	/* each signaled thread claims at most one slot in this freeze */
	if (slots_room(nslots + n) < 0)
		return -12; /* ENOMEM */
	/* the kernel's view costs a read per thread: look only when no
	 * thread parked since the last scan (5000 threads park by
	 * themselves, one by one) */
	p = __atomic_load_n(&progress, __ATOMIC_SEQ_CST);
	look = p == scan_progress;
	scan_progress = p;
	nblocked = 0;
	for (i = 0; i < n; i++) {
		int tid = tasks.v[i];

		if (tid == me || tid_parked(tid))
			continue;
		if (look && tids_has(&signaled, tid) && straggler_stuck(tid))
			continue;
		if (!first)
			first = tid;
		if (tids_has(&signaled, tid))
			continue;
		memset(&si, 0, sizeof si);
		si.si_code = SI_QUEUE;
		si.si_pid = pid;
		si.si_uid = sys_geteuid();
		si.si_value.sival_int = (int)CKPT_FREEZE_MAGIC;
		r = sys_tgsigqueueinfo(pid, tid, ckpt_sig, &si);
		if (r == 0 && tids_add(&signaled, tid) < 0)
			return -12; /* ENOMEM: the thread claims a slot all the same */
		if (r == 0) {
			if (send_err_tid == tid)
				send_err = send_err_tid = 0;
		} else {
			/* EAGAIN: the uid's queue of real-time signals is full */
			send_err = r;
			send_err_tid = tid;
		}
	}
	return first;
}

static long now_ms(void)
{
	struct timespec ts;

	sys_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* until every thread signaled in this freeze has parked, or 5 ms: a
 * rescan then finds threads that came or went, without one per park */
static void parks_wait(int start)
{
	long end = now_ms() + 5;
	int p;

	while ((p = __atomic_load_n(&progress, __ATOMIC_SEQ_CST)) - start < signaled.n &&
	       now_ms() < end)
		futex_wait(&progress, p, 1);
}

/* a freeze that timed out: the tid that did not stop in the low 32
 * bits; above, the errno of the signal that could not be sent to it */
static uint64_t laggard_of(int first)
{
	uint64_t err = send_err && send_err_tid == first ? (uint64_t)-send_err : 0;

	return err << 32 | (uint32_t)first;
}

/* Until every thread is parked, or blocks the freeze signal (past the
 * grace): 0; else -errno, and *laggard on ETIMEDOUT */
static int scan_until_parked(unsigned timeout_ms, uint64_t *laggard)
{
	long deadline = now_ms() + (timeout_ms ? timeout_ms : 2000);
	long grace = now_ms() + BLOCKED_GRACE_MS;
	int n, first, start = __atomic_load_n(&progress, __ATOMIC_SEQ_CST);

	scan_progress = start - 1;
	for (;;) {
		n = list_tasks();
		first = n < 0 ? n : signal_stragglers(n);
		if (first < 0)
			return first;
		if (!first && (!nblocked || now_ms() > grace))
			return 0;
		if (now_ms() > deadline) {
			*laggard = laggard_of(first);
			return -110; /* ETIMEDOUT */
		}
		parks_wait(start);
	}
}

/* After the blocked threads are adopted: the threads they made while
 * they ran (glibc's timer helper starts a thread for each expiry) are
 * frozen too; the blocked ones among those listed again (0: none) */
int freeze_rescan(unsigned timeout_ms, uint64_t *laggard)
{
	int r;

	if (!freeze_word)
		return -1; /* EPERM */
	r = scan_until_parked(timeout_ms, laggard);
	return r < 0 ? r : nblocked;
}

int freeze_all(unsigned timeout_ms, uint64_t *laggard)
{
	int r;

	if (freeze_word)
		return -16; /* EBUSY */
	nslots = 0;
	signaled.n = 0;
	nblocked = 0;
	send_err = send_err_tid = 0;
	memset((void *)fixes, 0, sizeof fixes);
	__atomic_store_n(&freeze_word, 1, __ATOMIC_SEQ_CST);
	if ((r = scan_until_parked(timeout_ms, laggard)) < 0) {
		thaw_all();
		return r;
	}
	membarrier_regs = sys_membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
	memset(&ctl_rec, 0, sizeof ctl_rec);
	thread_record_self(&ctl_rec);
	/* glibc's pthread_sigmask left SIGCANCEL and SIGSETXID open in
	 * it: a restart must open them again, or every set*id call of
	 * the program waits for this thread forever */
	sys_rt_sigprocmask(SIG_BLOCK, NULL, &ctl_rec.sigmask);
	ctl_rec.role = CKPT_ROLE_CONTROL;
	ctl_rec.park.rip = (uintptr_t)ckpt_restart_entry;
	ctl_rec.park.rsp = ckpt_ctl_stack;
	return 0;
}

/* the threads of this freeze that block the freeze signal */
int freeze_blocked(const uint32_t **tids)
{
	*tids = blocked;
	return nblocked;
}

static int blocked_has(int tid)
{
	int i;

	for (i = 0; i < nblocked; i++)
		if (blocked[i] == (uint32_t)tid)
			return 1;
	return 0;
}

/* ckpt-freeze holds thread tid, one of the blocked, in a ptrace stop,
 * and will open the freeze signal in its mask: the signal it has
 * pending then comes, and the thread parks.  mask is the thread's own,
 * given back in its frame (mask_fixup).  0; -EALREADY when it parked
 * or -EINPROGRESS when it took the signal meanwhile (it parks by
 * itself: leave its mask alone); -ESRCH: not a blocked thread of this
 * freeze; -ENOSPC: too many at once.  Never a second freeze signal: a
 * thread would park twice. */
int freeze_adopt(int tid, uint64_t mask)
{
	struct task_view v;
	int i, r;

	if (!blocked_has(tid))
		return -3; /* ESRCH */
	if (tid_parked(tid))
		return -114; /* EALREADY */
	if ((r = task_view(tid, &v)) < 0)
		return r;
	if (!(v.pnd & sig_bit(ckpt_sig)))
		return -115; /* EINPROGRESS */
	for (i = 0; i < FIXES_MAX && fixes[i].tid; i++)
		;
	if (i == FIXES_MAX)
		return -28; /* ENOSPC */
	fixes[i].mask = mask;
	__atomic_store_n(&fixes[i].tid, tid, __ATOMIC_RELEASE);
	return slots_room(nslots + 1);
}

/* wait (bounded) for an adopted thread's park; 0 or -ETIMEDOUT */
int freeze_adopted(int tid, long ms)
{
	long deadline = now_ms() + ms;
	int p;

	if (!blocked_has(tid))
		return -3; /* ESRCH */
	while (!tid_parked(tid)) {
		if (now_ms() > deadline)
			return -110; /* ETIMEDOUT */
		p = __atomic_load_n(&progress, __ATOMIC_SEQ_CST);
		if (!tid_parked(tid))
			futex_wait(&progress, p, 10);
	}
	return 0;
}

void thaw_all(void)
{
	long deadline = now_ms() + 2000;
	int n;

	__atomic_store_n(&freeze_word, 0, __ATOMIC_SEQ_CST);
	futex_wake(&freeze_word);
	/* wait for every thread to leave the handler, so the next freeze
	 * starts with free slots */
	while ((n = __atomic_load_n(&nactive, __ATOMIC_SEQ_CST)) && now_ms() < deadline)
		futex_wait(&nactive, n, 10);
	nslots = 0;
}

int freeze_held(void)
{
	return freeze_word;
}

/* wait (bounded) until every program thread of a restore has jumped
 * back into its park: none of them runs restorer code after that */
int restore_wait_resumed(long ms)
{
	long deadline = now_ms() + ms;
	int want = (int)threads_count() - 1, n;

	while ((n = __atomic_load_n(&resumed, __ATOMIC_SEQ_CST)) < want) {
		if (now_ms() > deadline)
			return -110; /* ETIMEDOUT */
		futex_wait(&resumed, n, 10);
	}
	return 0;
}

void freeze_reset(void)
{
	freeze_word = 0;
	nslots = 0;
	nactive = 0;
	signaled.n = 0;
	resumed = 0;
}

uint32_t threads_count(void)
{
	return freeze_word ? (uint32_t)claimed() + 1 : 0;
}

const struct ckpt_thread_rec *thread_rec(uint32_t i)
{
	uint32_t n = threads_count();

	if (i + 1 < n)
		return &slot_at(i)->rec;
	return i + 1 == n ? &ctl_rec : NULL;
}
