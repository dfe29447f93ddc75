/* plan.h - what ckpt-thaw tells ckpt-restorer (doc/restore.md).
 *
 * ckpt-thaw parses the text members and writes one binary plan into a
 * pipe, followed by the page data; the restorer reads it with raw
 * syscalls and never parses text.  Both ends are built from this tree,
 * so the layout is private: it changes with PLAN_VERSION, not with the
 * image format.
 *
 * This header is included by the restorer, built against musl with no
 * libc beyond <stdint.h>: types and constants only.
 */
#ifndef CKPT_PLAN_H
#define CKPT_PLAN_H
#include <stdint.h>

#include "proto.h"

#define PLAN_MAGIC   0x6e6c7063u   /* "cpln" */
#define PLAN_VERSION 6
#define PLAN_AUXV_MAX 128          /* words, AT_NULL pair included */
#define PLAN_PATH_MAX 4096

/* The restorer's layout inside the hole (doc/restore.md); the sizes
 * thaw must leave free are these plus the restorer's image and the
 * plan body. */
#define PLAN_TRAMP_SIZE  4096          /* stays mapped: the last code */
#define PLAN_VDSO_SLOT   (256 * 1024)  /* the restorer's own vvar/vdso */
#define PLAN_STACK_SIZE  (256 * 1024)
#define PLAN_TSTACK_SIZE (16 * 1024)   /* where each started thread sets
                                        * its credentials, one at a time */
#define PLAN_IMAGE_MAX   (4 << 20)     /* the restorer's text+data+bss */

enum plan_kind {
	PLAN_ANON = 1,        /* private anonymous (incl. [heap]) */
	PLAN_STACK,           /* [stack]: anonymous, MAP_GROWSDOWN */
	PLAN_FILE_PRIVATE,    /* private mapping of the file at path */
	PLAN_FILE_SHARED,     /* shared mapping of the file at path */
	PLAN_SHARED_ANON,     /* shared memory whose pages the image holds */
	PLAN_JOB_FD,          /* a view of an object of the job (memfd):
	                       * MAP_SHARED from the fd obj at pgoff */
	PLAN_JOB_SYSV,        /* a view of the job's SysV segment obj
	                       * (shmid): shmat at start */
	PLAN_JOB_FD_PRIVATE,  /* a private map of a deleted file made
	                       * again (jobobj.c): MAP_PRIVATE from the fd
	                       * obj at pgoff, every page stored on top */
};

struct plan_mm {          /* the fields of PR_SET_MM_MAP */
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
};

struct plan_hdr {
	uint32_t magic, version;
	uint32_t hdr_size;      /* sizeof(struct plan_hdr) */
	uint32_t pid;           /* the restorer must be this pid */
	uint32_t nregions, nruns, nthreads, flags;
	uint32_t ncloexec;      /* fds to mark FD_CLOEXEC, in the body */
	uint32_t pad0;
	uint64_t body_size;     /* regions, runs, threads, cloexec, strings */
	uint64_t pages_size;    /* page data after the body, in run order */
	uint64_t hole, hole_size; /* free in the image: the restorer's room */
	struct plan_mm mm;
	uint64_t auxv[PLAN_AUXV_MAX];
	uint32_t auxv_words;    /* AT_NULL pair included */
	uint32_t umask;
	uint32_t dumpable;
	uint32_t ngroups;       /* group ids in the body, for all threads */
	uint64_t vvar[2], vclock[2], vdso[2]; /* [start, end); 0 0: none */
	struct ckpt_rlimit rlimit[16];
	struct ckpt_ksigaction sigaction[64]; /* [sig-1]; handler 0 flags 0
	                                       * is the default: left */
	struct ckpt_itimer itimer[3];         /* REAL, VIRTUAL, PROF */
	uint64_t sigpending;         /* the process's shared pending set */
	uint32_t ntimers;            /* POSIX timers, in the body */
	uint32_t nguards;            /* ranges of guard pages, in the body */
	uint32_t nsiginfo;           /* queued signals, in the body */
	uint32_t pad2;
	char exe[PLAN_PATH_MAX];     /* "" or a path to set as exe_fd */
};

#define PLAN_F_EXE_FD 1          /* try PR_SET_MM_MAP exe_fd */
#define PLAN_F_SET_IDS 2         /* root: every thread takes its own uids,
                                  * gids and groups (plan_creds); else they
                                  * are the caller's and stay so */

/* After the page data, ckpt-thaw writes PLAN_GO (8 bytes) once the
 * whole stream has been read and checked: only then does the restorer
 * start any thread.  End of file instead: it exits, restoring nothing. */
#define PLAN_GO 0x6f672d6e6c7063ULL   /* "cpln-go" */

/* After the go the restorer does all but start the program's threads
 * (its mappings checked last), says PLAN_ST_READY, and waits for
 * PLAN_RUN (8 bytes) on the plan fd: ckpt-thaw sends it to every
 * process of the job once each one is ready, so that none runs when
 * another fails.  End of file instead: it exits, and nothing runs. */
#define PLAN_RUN 0x6e75722d6e6c7063ULL  /* "cpln-run" */

struct plan_region {
	uint64_t start, end, pgoff;
	uint32_t prot;          /* PROT_* */
	uint32_t kind;          /* enum plan_kind */
	uint32_t path;          /* offset of a NUL-terminated path in the
	                         * strings area; files only */
	uint32_t oflags;        /* O_RDONLY or O_RDWR, files only */
	uint64_t dev, ino, size; /* the file as ckpt-thaw checked it; for
	                         * shared memory (shm), size is the object's */
	int64_t mtime_sec, mtime_nsec;
	uint32_t shm;           /* PLAN_SHARED_ANON: 0, a region of its own
	                         * (MAP_SHARED|MAP_ANONYMOUS); else the object
	                         * id, one for every view of one object: path
	                         * "" (anonymous: views by mremap of one
	                         * mapping) or a memfd's name (views mmap'd
	                         * from one memfd), at pgoff */
	uint32_t vmflags;       /* PLAN_VM_*: the region's flags beyond its
	                         * protection, set again at the go */
	int32_t obj;            /* PLAN_JOB_FD: the fd ckpt-thaw handed the
	                         * process, closed once every view is
	                         * mapped; PLAN_JOB_SYSV: the shmid */
	uint32_t pad;
};

/* plan_region.vmflags, from the VmFlags of smaps (formats/memory.md) */
#define PLAN_VM_LOCKED      0x001  /* lo: mlock */
#define PLAN_VM_LOCKONFAULT 0x002  /* lf: mlock2 MLOCK_ONFAULT */
#define PLAN_VM_DONTFORK    0x004  /* dc: MADV_DONTFORK */
#define PLAN_VM_WIPEONFORK  0x008  /* wf: MADV_WIPEONFORK */
#define PLAN_VM_DONTDUMP    0x010  /* dd: MADV_DONTDUMP */
#define PLAN_VM_HUGEPAGE    0x020  /* hg: MADV_HUGEPAGE */
#define PLAN_VM_NOHUGEPAGE  0x040  /* nh: MADV_NOHUGEPAGE */
#define PLAN_VM_MERGEABLE   0x080  /* mg: MADV_MERGEABLE */
#define PLAN_VM_SEQUENTIAL  0x100  /* sr: MADV_SEQUENTIAL */
#define PLAN_VM_RANDOM      0x200  /* rr: MADV_RANDOM */
#define PLAN_VM_NORESERVE   0x400  /* nr: mapped MAP_NORESERVE */
#define PLAN_VM_DROPPABLE   0x800  /* dp: mapped MAP_DROPPABLE (private
                                    * anonymous memory only) */
#define PLAN_VM_GROWSDOWN   0x2000 /* gd: mapped MAP_GROWSDOWN (private
                                    * anonymous memory; a [stack] always is) */
#define PLAN_VM_ACCOUNT     0x1000 /* ac: charged to the commit (private and
                                    * writable once); without it, a region
                                    * with no stored pages is mapped with its
                                    * own protection, never writable */

struct plan_run {          /* stored pages, [start, end), data order */
	uint64_t start, end;
};

/* A thread's credentials as the image recorded them.  Every thread
 * sets its own (they are per thread in the kernel): ids and groups
 * with PLAN_F_SET_IDS, then the capability sets (the bounding set only
 * loses bits), securebits, and no_new_privs last. */
struct plan_creds {
	uint32_t uid[4], gid[4];   /* real, effective, saved, fs */
	uint32_t groups, ngroups;  /* index and count in the body's groups */
	uint64_t cap[5];           /* inheritable, permitted, effective,
	                            * bounding, ambient */
	uint32_t securebits, nnp;
};

/* A signal queued at the checkpoint, with its siginfo: queued again by
 * the thread tid itself (0: the process's queue, by the main thread),
 * in this order; the kernel lets a thread queue any siginfo to itself
 * (rt_tgsigqueueinfo), and the main thread to its process
 * (rt_sigqueueinfo), whatever si_code and sender it names. */
struct plan_siginfo {
	uint32_t tid, pad;
	unsigned char info[128];
};

struct plan_thread {
	uint32_t tid, role;     /* enum ckpt_role */
	uint64_t fs, gs;
	struct ckpt_park park;
	uint64_t sigpending;    /* raised again with tgkill, once each */
	uint64_t rseq_addr;     /* registered again by the thread; 0: none */
	uint32_t rseq_len, rseq_sig;
	struct plan_creds creds;
};

/* A POSIX timer (formats/timers.md), made again with its id once
 * every thread exists and before any runs. */
struct plan_timer {
	int32_t id, clock;
	int32_t notify;         /* sigev_notify: SIGEV_SIGNAL, SIGEV_NONE,
	                         * SIGEV_THREAD (a signal to the process) or
	                         * SIGEV_THREAD_ID (to thread tid) */
	int32_t signo, tid;
	uint32_t overrun;       /* as recorded; a new timer has none */
	uint64_t value;         /* sigev_value */
	struct ckpt_timespec interval, value_left; /* 0 0: disarmed */
};

/* The body: struct plan_region[nregions], struct plan_run[nruns],
 * struct plan_thread[nthreads], uint32_t groups[ngroups] (padded to 8
 * bytes), uint32_t cloexec[ncloexec] (fd numbers, any number of them,
 * padded to 8 bytes), struct plan_timer[ntimers], struct
 * plan_run[nguards] (guard pages, MADV_GUARD_INSTALL), struct
 * plan_siginfo[nsiginfo], then strings up to
 * body_size. */

/* What the restorer says back on fd_status: zero or more warnings,
 * PLAN_ST_READY, then one PLAN_ST_OK; or one error at any point; then
 * end of file. */
enum plan_step {
	PLAN_ST_OK = 0,
	PLAN_ST_ARGS,          /* bad arguments or plan header */
	PLAN_ST_PLAN,          /* reading the plan */
	PLAN_ST_PID,           /* running as another pid than the plan's */
	PLAN_ST_HOLE,          /* mapping the hole (addr) */
	PLAN_ST_MOVE,          /* moving itself into the hole */
	PLAN_ST_CLEAR,         /* unmapping its old image (addr) */
	PLAN_ST_MAP,           /* mapping a region (addr) */
	PLAN_ST_OPEN,          /* opening a region's file (addr) */
	PLAN_ST_FILE_CHANGED,  /* the file is not the one checked (addr) */
	PLAN_ST_PAGES,         /* reading page data into a run (addr) */
	PLAN_ST_SHORT,         /* page data ended early (addr) */
	PLAN_ST_PROTECT,       /* setting a region's protection (addr) */
	PLAN_ST_VDSO,          /* putting the vdso back (addr) */
	PLAN_ST_VDSO_LAYOUT,   /* own vdso/vvar sizes differ from the image */
	PLAN_ST_RLIMIT,        /* addr: the resource */
	PLAN_ST_MM,            /* PR_SET_MM_MAP */
	PLAN_ST_EXE_WARN,      /* warning: exe_fd refused, /proc/PID/exe
	                        * names the restorer */
	PLAN_ST_SIGACTION,     /* addr: the signal */
	PLAN_ST_ITIMER,        /* addr: which */
	PLAN_ST_FDFLAGS,       /* addr: the fd */
	PLAN_ST_TLS,           /* addr: fs base */
	PLAN_ST_THREAD,        /* clone3 of a thread (addr: its tid) */
	PLAN_ST_GO,            /* no go from ckpt-thaw */
	PLAN_ST_IDS,           /* a thread's uids, gids, groups (addr: tid) */
	PLAN_ST_CAPSET,        /* a thread's capability sets (addr: tid) */
	PLAN_ST_SECUREBITS,    /* a thread's securebits (addr: tid) */
	PLAN_ST_NNP,           /* a thread's no_new_privs (addr: tid) */
	PLAN_ST_VMFLAGS,       /* a region's flags (addr), by madvise/mlock */
	PLAN_ST_GUARD,         /* installing guard pages (addr) */
	PLAN_ST_SIGQUEUE,      /* queueing a signal again (addr: its number) */
	PLAN_ST_RSEQ,          /* registering a thread's rseq area (addr) */
	PLAN_ST_TIMER,         /* making a POSIX timer (addr: its id) */
	PLAN_ST_TIMER_ID,      /* the kernel gave a POSIX timer another id
	                        * (addr: the id wanted): no
	                        * PR_TIMER_CREATE_RESTORE_IDS, and a gap */
	PLAN_ST_LAYOUT,        /* the mappings are not the plan's at addr, as
	                        * the four notes before say (err: reading
	                        * /proc/self/maps failed, addr 0) */
	PLAN_ST_LAYOUT_WANT,   /* note: the plan's region there starts at
	                        * addr; err its perms: PROT_* bits, 8 shared,
	                        * 16 there, its kind from bit 8; 0: none */
	PLAN_ST_LAYOUT_WANT_END, /* note: and ends at addr */
	PLAN_ST_LAYOUT_SAW,    /* note: the kernel's mapping there starts at
	                        * addr; err its perms as above; 0: none */
	PLAN_ST_LAYOUT_SAW_END, /* note: and ends at addr */
	PLAN_ST_READY,         /* all done but the run: waits for PLAN_RUN */
	PLAN_ST_RUN,           /* no run from ckpt-thaw */
	PLAN_ST_COUNT
};

struct plan_status {
	int32_t step;           /* enum plan_step */
	int32_t err;            /* -errno, or 0 */
	uint64_t addr;
};

#endif
