/* shim.h - what the parts of the shim share.
 *
 * Everything reachable from the freeze handler or from the control
 * thread while threads are frozen uses rawsys.h calls and static storage
 * only: no malloc, no stdio, no locks, no errno (see README). */
#ifndef CKPT_SHIM_H
#define CKPT_SHIM_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* state.c / park.c */
extern int ckpt_sig;                   /* the freeze signal */
extern int ckpt_listen_fd, ckpt_conn_fd; /* the shim's own fds */
extern int ckpt_ctl_tid;
extern uint64_t ckpt_ctl_stack;        /* top of the control thread's stack */

/* park.c */
void freeze_handler(int sig, siginfo_t *si, void *uc);
int freeze_is_ours(int sig, const siginfo_t *si);
int freeze_all(unsigned timeout_ms, uint64_t *laggard);
void thaw_all(void);
/* the program's hooks (api.c), run by the control thread */
void api_checkpoint(void);
void api_resumed(void);
void api_restored(void);
void api_wait_resumed(void);
/* selfckpt.c: a checkpoint the program asked for */
void selfckpt_restored(void);
void selfckpt_forked(void);
int freeze_held(void);
int freeze_blocked(const uint32_t **tids);
int freeze_rescan(unsigned timeout_ms, uint64_t *laggard);
int freeze_adopt(int tid, uint64_t mask);
int freeze_adopted(int tid, long ms);
void freeze_reset(void);
int restore_wait_resumed(long ms);
uint32_t threads_count(void);
/* records of the frozen threads, then the control thread's own */
const struct ckpt_thread_rec *thread_rec(uint32_t i);
void thread_redo(const struct ckpt_thread_rec *r);

/* state.c */
void proc_record(struct ckpt_proc_rec *p);
int proc_open_fds(int fds[CKPT_PROCFD_COUNT]);
int fds_list(int from, struct ckpt_fd_ent *ents, int max, int *more);
long pages_splice(int pipe_fd, const struct ckpt_range *r, int n, int watch_fd);
int timers_record(const int32_t *ids, int n, struct ckpt_timer_rec *recs);
void thread_record_self(struct ckpt_thread_rec *r);

/* dirty.c: the userfaultfd of dirty tracking, and its epoch */
int dirty_is_fd(int fd);
void dirty_freeze(void);
void dirty_begin(struct ckpt_dirty_rec *rec, const char *id, long len);
int dirty_track(const struct ckpt_range *r, int n, int32_t *res);
int dirty_epoch(const char *id, long len, int frozen);
void dirty_forget(int close_it);

/* sigwrap.c: the program's own disposition of the freeze signal */
extern struct sigaction ckpt_prog_action;
void sigwrap_init(void);
/* si_value of a signal that only wakes a thread waiting in sigwrap */
#define CKPT_WAKE_MAGIC 0x636b7077u
int sigwrap_is_wake(const siginfo_t *si);
int sigwrap_hold(const siginfo_t *si);
int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);

/* shim.c */
void shim_log(const char *a, long n, const char *b);
size_t fmt_ulong(char *out, unsigned long v);  /* decimal; its length */

/* x86_64/park.S */
int ckpt_park_save(struct ckpt_park *p) __attribute__((returns_twice));
void ckpt_restart_entry(void);
void ckpt_control_restart(void *tramp, unsigned long len);

/* one record of getdents64, as the kernel lays it out: the shim reads
 * directories with the raw call (no opendir, no malloc) */
struct dirent64_raw {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

#endif

/* procdir.c: fn(n, the directory's fd, arg) for each numbered entry;
 * 0 or -errno */
int procdir_each(const char *path, void (*fn)(int n, int dirfd, void *arg), void *arg);
/* fn(fd, the directory's fd, arg) for our fds from from on, in order,
 * until fn returns nonzero: the listing starts at from (a job of 2200
 * fds, asked for them 250 at a time, listed them all 9 times) */
int procdir_fds_from(int from, int (*fn)(int n, int dirfd, void *arg), void *arg);

/* control.c */
void control_serve(int conn);
/* the snapshot's one connection: CKPT_OP_PROC and CKPT_OP_PAGES of
 * its own, until the tool closes it */
void control_serve_snapshot(int conn);

/* cow.c: a copy-on-write snapshot of this frozen process (CKPT_OP_COW,
 * flags CKPT_COW_*): its pid and *fd a connection to it, or -errno */
long cow_take(uint64_t flags, int *fd);
/* the snapshots kept as our children that have ended: reaped (the
 * control thread, at every look around) */
void cow_reap(void);
/* x86_64/clone.S: a raw clone whose child runs fn(arg) on stack_top */
long ckpt_clone(unsigned long flags, void *stack_top, void (*fn)(void *), void *arg);
/* the same, tid the kernel's parent and child tid word (CLONE_PARENT_SETTID,
 * CLONE_CHILD_CLEARTID) */
long ckpt_clone_tid(unsigned long flags, void *stack_top, void (*fn)(void *), void *arg, int *tid);

/* sockdir.c */
int sockdir_open(const char *dir, const char **why);
void sockdir_sweep(int dirfd, const char *own, unsigned long job_ns);
unsigned long sockdir_pidns(void);

/* shim.c: fd moved up out of the program's way (close-on-exec) */
int fd_high(int fd);
