/* proto.h - the control protocol between the shim and the tools.
 *
 * One SOCK_SEQPACKET unix socket per process, at
 * $CKPT_SOCKDIR/<pid>.sock.  Every request is one packet: struct ckpt_req
 * followed by req.len payload bytes, maybe with fds (SCM_RIGHTS).  Every
 * reply is one packet: struct ckpt_rep followed by rep.len bytes and
 * rep.nfds fds.  Requests are served one at a time, in order.
 *
 * This header is included by the shim, so it holds only types and
 * constants: nothing that allocates or needs libc beyond <stdint.h>.
 */
#ifndef CKPT_PROTO_H
#define CKPT_PROTO_H
#include <stdint.h>

#define CKPT_PROTO_VERSION 3
#define CKPT_SIGNAL_DEFAULT 63     /* SIGRTMAX-1: outside glibc's 32..34 */
#define CKPT_MSG_MAX   (64 * 1024) /* largest payload of one packet */
#define CKPT_FDS_MAX   250         /* fds in one packet (SCM_MAX_FD is 253) */
#define CKPT_THREADS_MAX (1 << 22) /* threads of one process: the kernel's
                                    * PID_MAX_LIMIT; the shim has no other cap */
#define CKPT_FREEZE_MAGIC 0x636b7074u /* "ckpt": si_value of our signal */
#define CKPT_REQUEST_DEADLINE_MS 5000 /* a connection that holds no freeze
                                       * is dropped when its next request
                                       * does not come within this, counted
                                       * from its accept or its last request
                                       * under a freeze (below the tools'
                                       * 10 s: one silent client delays a
                                       * checkpoint, never fails it) */

enum ckpt_op {
	CKPT_OP_HELLO = 1, /* reply: struct ckpt_hello */
	CKPT_OP_FREEZE,    /* arg: timeout in ms (0: default 2000).  Reply
	                    * arg: threads frozen, and as payload the
	                    * uint32_t tids that block the freeze signal
	                    * (not frozen: the caller adopts them, or
	                    * thaws); on -ETIMEDOUT arg is the
	                    * tid that did not answer (bits 0-31) and the
	                    * errno with which the freeze signal could not
	                    * be queued to it (bits 32-63; 0: it was), and
	                    * nothing stays frozen */
	CKPT_OP_THAW,      /* release the threads; reply when they run */
	CKPT_OP_PROC,      /* frozen only.  Reply: struct ckpt_proc_rec and
	                    * fds in enum ckpt_procfd order */
	CKPT_OP_THREADS,   /* frozen only.  arg: first index.  Reply: up to
	                    * CKPT_MSG_MAX/sizeof of struct ckpt_thread_rec;
	                    * rep.more is 1 when there are more */
	CKPT_OP_FDS,       /* frozen only.  arg: list fds >= arg.  Reply:
	                    * struct ckpt_fd_ent[], the same fds by
	                    * SCM_RIGHTS in the same order, rep.more as above.
	                    * The shim's own fds are never listed */
	CKPT_OP_PAGES,     /* frozen only.  Payload: struct ckpt_range[];
	                    * one fd: a pipe's write end.  The control thread
	                    * vmsplice()s the ranges into it in order, then
	                    * replies (arg: bytes spliced).  The caller must
	                    * drain the pipe meanwhile */
	CKPT_OP_KILL,      /* frozen only.  SIGKILL the whole process, after
	                    * the reply is sent */
	CKPT_OP_TIMERS,    /* frozen only.  Payload: int32_t ids of POSIX
	                    * timers (as /proc/PID/timers lists them), at
	                    * most CKPT_TIMERS_MAX.  Reply: struct
	                    * ckpt_timer_rec for each, in that order; an id
	                    * that is no timer: -EINVAL */
	CKPT_OP_ADOPT,     /* frozen only.  arg: a tid of the freeze's
	                    * reply, which the caller holds in a ptrace
	                    * stop; payload: its uint64_t signal mask.  The
	                    * caller then opens the freeze signal in the
	                    * thread's mask and lets it go: the signal the
	                    * thread has pending comes and it parks, with
	                    * its mask given back in its frame.  -EALREADY
	                    * or -EINPROGRESS: it parks by itself, leave
	                    * its mask alone (doc/design.md) */
	CKPT_OP_ADOPTED,   /* frozen only.  arg: a tid adopted.  Reply when
	                    * it has parked, or -ETIMEDOUT after 2 s */
	CKPT_OP_RESCAN,    /* frozen only, once the blocked threads are
	                    * adopted.  arg: timeout in ms.  Freezes the
	                    * threads made meanwhile (a blocked thread ran
	                    * until it was adopted); reply as FREEZE's:
	                    * those that block the freeze signal, if any,
	                    * to adopt in turn.  On an error the freeze is
	                    * still held: the caller thaws */
	CKPT_OP_DIRTY,     /* frozen only.  A dirty scan begins (lib/dirty.h):
	                    * reply struct ckpt_dirty_rec, the epoch the
	                    * tracking bits count from, which the shim then
	                    * forgets: the scan re-protects the pages, so
	                    * until CKPT_OP_EPOCH names this checkpoint's
	                    * image they count from no image.  Payload,
	                    * when known: that image's id (32 lowercase
	                    * hex digits), the only one a later
	                    * CKPT_OP_EPOCH may name.  A shim without it
	                    * (ENOSYS): nothing is tracked */
	CKPT_OP_TRACK,     /* frozen only.  Payload: struct ckpt_range[]
	                    * (whole regions, private writable ones) to
	                    * track from now on: the shim makes its
	                    * userfaultfd (WP_ASYNC, WP_UNPOPULATED) if it
	                    * has none, and registers each for
	                    * write-protect.  Reply: an int32_t for each
	                    * range, 0 or -errno; rep.err: no userfaultfd */
	CKPT_OP_EPOCH,     /* once the image is written whole: its id, 32
	                    * lowercase hex digits.  Taken when it is the
	                    * id the last CKPT_OP_DIRTY named, frozen or
	                    * not (--cow thaws before its image is whole:
	                    * a new connection then), or, when that named
	                    * none, frozen after CKPT_OP_DIRTY in the same
	                    * freeze */
	CKPT_OP_COW,       /* frozen only.  A copy-on-write snapshot of the
	                    * process (preload/cow.c).  arg: CKPT_COW_*.
	                    * Reply: arg the snapshot's pid, one fd: a
	                    * connection to it, which serves CKPT_OP_PROC
	                    * (its own /proc/self fds) and CKPT_OP_PAGES
	                    * (from its memory, the process's at this
	                    * freeze) and nothing else; the snapshot ends
	                    * when that connection closes */
};
#define CKPT_COW_CHILD 1   /* keep the snapshot as the process's own
                            * child (exit signal 0) rather than orphan
                            * it: the process or one of the job above
                            * it is a child subreaper, which an orphan
                            * would go to (doc/design.md) */

struct ckpt_req {
	uint32_t op;
	uint32_t len;      /* payload bytes after this header */
	uint64_t arg;
};

struct ckpt_rep {
	int32_t err;       /* 0, or -errno */
	uint32_t len;      /* payload bytes after this header */
	uint32_t nfds;
	uint32_t more;
	uint64_t arg;
};

struct ckpt_hello {
	uint32_t version;  /* CKPT_PROTO_VERSION */
	uint32_t pid;
	uint32_t signal;   /* the freeze signal */
	uint32_t frozen;   /* 1 while a freeze is held */
};

enum ckpt_procfd {     /* fds sent with CKPT_OP_PROC, in this order */
	CKPT_PROCFD_MEM,       /* /proc/self/mem, O_RDONLY */
	CKPT_PROCFD_PAGEMAP,   /* /proc/self/pagemap */
	CKPT_PROCFD_MAPS,      /* /proc/self/maps */
	CKPT_PROCFD_STAT,      /* /proc/self/stat */
	CKPT_PROCFD_AUXV,      /* /proc/self/auxv */
	CKPT_PROCFD_STATUS,    /* /proc/self/status */
	CKPT_PROCFD_COUNT
};

struct ckpt_ksigaction {   /* the kernel's struct sigaction, x86-64 */
	uint64_t handler, flags, restorer, mask;
};

struct ckpt_timeval { int64_t sec, usec; };
struct ckpt_itimer { struct ckpt_timeval interval, value; };
struct ckpt_rlimit { uint64_t cur, max; };

struct ckpt_proc_rec {
	uint32_t version;      /* CKPT_PROTO_VERSION */
	uint32_t pid;
	uint32_t signal;       /* the freeze signal */
	uint32_t ctl_tid;      /* the control thread */
	uint32_t umask;
	uint32_t dumpable;
	uint32_t personality;
	uint32_t nthreads;     /* frozen threads + the control thread */
	uint64_t brk;          /* current program break */
	uint64_t restart_entry;/* where a restored control thread starts:
	                        * void entry(void), on its old stack */
	uint64_t ctl_stack;    /* top of the control thread's stack */
	uint64_t xcr0;         /* xsave features in the signal frames */
	struct ckpt_rlimit rlimit[16];
	struct ckpt_ksigaction sigaction[64]; /* [sig-1], as the kernel has it */
	struct ckpt_itimer itimer[3];         /* REAL, VIRTUAL, PROF */
	char cwd[4096];
	char exe[4096];
	uint32_t subreaper;    /* PR_GET_CHILD_SUBREAPER: no /proc file
	                        * shows it */
	uint32_t thp_disable;  /* PR_GET_THP_DISABLE: 3 (except advised)
	                        * shows as THP_enabled: 1 */
};

/* Callee-saved state where a frozen thread parked: a restored thread
 * that jumps here with rax = 1 returns from the shim's park as
 * "restored", redoes its per-thread kernel state, and sigreturns. */
struct ckpt_park {
	uint64_t rip, rsp, rbx, rbp, r12, r13, r14, r15;
};

enum ckpt_role { CKPT_ROLE_PROGRAM = 0, CKPT_ROLE_CONTROL = 1 };

struct ckpt_thread_rec {
	uint32_t tid;
	uint32_t role;         /* enum ckpt_role */
	uint64_t frame;        /* address of the ucontext of the freeze
	                        * signal's frame (0 for the control thread) */
	uint64_t fs_base, gs_base;
	uint64_t sigmask;      /* the thread's mask before the signal */
	uint64_t altstack_sp, altstack_size;
	uint32_t altstack_flags;
	uint32_t pdeathsig;
	uint64_t rseq_addr;    /* 0: not registered */
	uint32_t rseq_len, rseq_sig;
	uint64_t robust_head, robust_len;
	uint64_t clear_tid;    /* set_tid_address / CLONE_CHILD_CLEARTID */
	uint64_t affinity[16]; /* 1024 cpus */
	char comm[16];
	struct ckpt_park park; /* control thread: rip = restart_entry,
	                        * rsp = its stack top */
	uint32_t securebits;   /* PR_GET_SECUREBITS: per thread, and no
	                        * /proc file shows it */
	uint32_t flags;        /* CKPT_THREAD_* */
};
#define CKPT_THREAD_RSEQ_OWN 1 /* the thread has an rseq area that is not
                                * glibc's, which only ptrace could find */

/* A POSIX timer's times, which only the process can ask for
 * (timer_gettime, timer_getoverrun); its clock and notification the
 * tools read from /proc/PID/timers. */
struct ckpt_timespec { int64_t sec, nsec; };
struct ckpt_timer_rec {
	int32_t id;
	int32_t overrun;       /* timer_getoverrun */
	struct ckpt_timespec interval, value; /* value: left until the next
	                        * expiry; 0 0: disarmed */
};
#define CKPT_TIMERS_MAX (CKPT_MSG_MAX / sizeof(struct ckpt_timer_rec))

struct ckpt_fd_ent {
	int32_t fd;
	int32_t fdflags;       /* F_GETFD: FD_CLOEXEC */
};

/* CKPT_OP_DIRTY's reply: the image id the tracking bits count from */
struct ckpt_dirty_rec {
	char epoch[32];        /* 32 hex digits; all 0 bytes: none */
	uint32_t tracking;     /* 1: the shim holds its userfaultfd */
	uint32_t pad;
};
#define CKPT_TRACK_MAX (CKPT_MSG_MAX / sizeof(struct ckpt_range))

struct ckpt_range {
	uint64_t start, len;   /* page aligned */
};

#endif
