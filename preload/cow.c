/* cow.c - a copy-on-write snapshot of this process, made by the
 * control thread while the program's threads are frozen (lib/proto.h
 * CKPT_OP_COW; doc/design.md, "COW mode"): a raw clone of the process,
 * whose memory the kernel copies on write, serves its pages to the
 * tools while the program runs on.
 *
 * Runs while threads are frozen, in the short-lived helper and in the
 * snapshot: rawsys.h calls and static storage only.  No malloc, no
 * stdio, no locks, no errno, no atfork handler: a frozen thread may
 * hold any lock of libc, and the snapshot is a copy of that moment. */
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>

#include "shim.h"
#include "rawsys.h"

#define COW_STACK (64 * 1024)
#define WCLONE 0x80000000   /* __WCLONE: wait for a child whose exit
                             * signal is not SIGCHLD */

/* The helper's stack (it shares our memory).  The snapshot's is a
 * mapping made for it and unmapped here once it is made: the snapshot
 * then touches no page of ours that was not there at the freeze (its
 * pages are scanned in it, lib/cow.h), and we keep no trace of it. */
static char cow_stack[COW_STACK] __attribute__((aligned(16)));
static uint64_t snap_stack;
static int snap_end;                 /* the snapshot's end of its connection */
static volatile long snap_made;      /* set by the helper: the snapshot's pid or -errno */
/* snapshots kept as our children (CKPT_COW_CHILD), reaped once ended:
 * the control thread's alone */
#define KEPT_MAX 8
static int kept[KEPT_MAX];

static long sys_socketpair(int dom, int type, int proto, int sv[2])
{
	return SC(SYS_socketpair, dom, type, proto, sv, 0, 0);
}

/* nothing of the program's open in the copy: a pipe's write end held
 * there would keep the program's reader from its end of file */
static void fds_keep_only(int fd)
{
	if (fd > 0)
		SC(SYS_close_range, 0, fd - 1, 0, 0, 0, 0);
	SC(SYS_close_range, fd + 1, ~0U, 0, 0, 0, 0);
}

/* under memory pressure the snapshot goes first, never the program */
static void oom_first(void)
{
	long fd = sys_openat(AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);

	if (fd >= 0) {
		sys_write(fd, "1000", 4);
		sys_close(fd);
	}
}

static void snapshot_main(void *arg)
{
	(void)arg;
	fds_keep_only(snap_end);
	/* out of the program's session and group: a kill of its group
	 * or a terminal's hangup is not for the snapshot (every signal
	 * is blocked here anyway, as in the control thread it copies) */
	SC(SYS_setsid, 0, 0, 0, 0, 0, 0);
	sys_prctl(15 /* PR_SET_NAME */, (uintptr_t)"ckpt-snapshot", 0, 0, 0);
	oom_first();
	control_serve_snapshot(snap_end);
	sys_exit_group(0);
}

/* The helper: our child for a moment, sharing our memory (CLONE_VM,
 * so the memory is copied once, for the snapshot); it makes the
 * snapshot and exits, which orphans the snapshot: no process of the
 * program is its parent, sees it in /proc, waits for it or gets a
 * SIGCHLD for it */
static void helper_main(void *arg)
{
	(void)arg;
	fds_keep_only(snap_end);
	snap_made = ckpt_clone(0, (void *)(uintptr_t)(snap_stack + COW_STACK), snapshot_main, NULL);
}

void cow_reap(void)
{
	int i;

	for (i = 0; i < KEPT_MAX; i++)
		if (kept[i] && SC(SYS_wait4, kept[i], 0, WCLONE | 1 /* WNOHANG */, 0, 0, 0) != 0)
			kept[i] = 0;   /* reaped, or not ours any more */
}

/* a snapshot kept as our child, to reap: pid, or -EAGAIN when there is
 * no room (it is killed, then reaped) */
static long kept_add(long pid)
{
	int i, st;

	cow_reap();
	for (i = 0; pid > 0 && i < KEPT_MAX; i++)
		if (!kept[i]) {
			kept[i] = pid;
			return pid;
		}
	if (pid > 0) {
		sys_kill(pid, 9);
		SC(SYS_wait4, pid, &st, WCLONE, 0, 0, 0);
		return -11; /* EAGAIN */
	}
	return pid;
}

/* the snapshot, as the helper's child (orphaned when it exits) or as
 * ours (CKPT_COW_CHILD): its pid, or -errno */
static long snapshot_make(uint64_t flags)
{
	long helper;
	int st;

	if (flags & CKPT_COW_CHILD)
		return kept_add(ckpt_clone(0, (void *)(uintptr_t)(snap_stack + COW_STACK),
					   snapshot_main, NULL));
	snap_made = -11; /* EAGAIN: the helper did not say */
	/* CLONE_VFORK: we go on once the helper has exited; exit signal
	 * 0: the program's wait(-1) cannot take it meanwhile */
	helper = ckpt_clone(CLONE_VM | CLONE_VFORK, cow_stack + COW_STACK, helper_main, NULL);
	if (helper < 0)
		return helper;
	while (SC(SYS_wait4, helper, &st, WCLONE, 0, 0, 0) == -4 /* EINTR */)
		;
	return snap_made;
}

long cow_take(uint64_t flags, int *fd)
{
	int sv[2];
	long r = sys_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), pid;

	if (r < 0)
		return r;
	snap_end = sv[1];
	snap_stack = sys_mmap(0, COW_STACK, 3 /* PROT_READ|PROT_WRITE */,
			      0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
	pid = snap_stack > -4096UL ? (long)snap_stack : snapshot_make(flags);
	if (snap_stack <= -4096UL)
		sys_munmap(snap_stack, COW_STACK);
	sys_close(sv[1]);
	if (pid < 0) {
		sys_close(sv[0]);
		return pid;
	}
	*fd = sv[0];
	return pid;
}
