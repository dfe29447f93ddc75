/* rawsys.h - the raw system calls of the shim's frozen paths and of
 * the restorer: one inline function per call, one signature each, for
 * both (the shim is glibc LD_PRELOAD code, the restorer static musl).
 *
 * Each returns the kernel's result: >= 0, or -errno.  They touch
 * neither errno nor TLS, take no lock and allocate nothing, so they are
 * safe in signal handlers, while threads are frozen, and in a restorer
 * that has left musl's state behind.  Types and <sys/syscall.h> only:
 * no libc function.  Addresses of mappings are uint64_t, as the plan
 * and the protocol carry them; buffers and kernel structs are void *. */
#ifndef CKPT_RAWSYS_H
#define CKPT_RAWSYS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "sys_arch.h"

#define SC(n, a, b, c, d, e, f) \
	sys_call6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* files */
static inline long sys_read(int fd, void *buf, size_t n) { return SC(SYS_read, fd, buf, n, 0, 0, 0); }
static inline long sys_write(int fd, const void *buf, size_t n) { return SC(SYS_write, fd, buf, n, 0, 0, 0); }
static inline long sys_pwrite64(int fd, const void *buf, size_t n, uint64_t off)
{ return SC(SYS_pwrite64, fd, buf, n, off, 0, 0); }
static inline long sys_open(const char *p, int fl, int mode) { return SC(SYS_open, p, fl, mode, 0, 0, 0); }
static inline long sys_openat(int dir, const char *p, int fl, int mode)
{ return SC(SYS_openat, dir, p, fl, mode, 0, 0); }
static inline long sys_openat2(int dir, const char *p, const void *how, size_t size)
{ return SC(SYS_openat2, dir, p, how, size, 0, 0); }
static inline long sys_close(int fd) { return SC(SYS_close, fd, 0, 0, 0, 0, 0); }
static inline long sys_lseek(int fd, int64_t off, int whence) { return SC(SYS_lseek, fd, off, whence, 0, 0, 0); }
static inline long sys_fstat(int fd, void *st) { return SC(SYS_fstat, fd, st, 0, 0, 0, 0); }
static inline long sys_fcntl(int fd, int cmd, long arg) { return SC(SYS_fcntl, fd, cmd, arg, 0, 0, 0); }
static inline long sys_ftruncate(int fd, uint64_t len) { return SC(SYS_ftruncate, fd, len, 0, 0, 0, 0); }
static inline long sys_getdents64(int fd, void *buf, size_t n) { return SC(SYS_getdents64, fd, buf, n, 0, 0, 0); }
static inline long sys_readlinkat(int dir, const char *p, char *buf, size_t n)
{ return SC(SYS_readlinkat, dir, p, buf, n, 0, 0); }
static inline long sys_unlinkat(int dir, const char *p, int fl) { return SC(SYS_unlinkat, dir, p, fl, 0, 0, 0); }
static inline long sys_renameat2(int d1, const char *p1, int d2, const char *p2, unsigned fl)
{ return SC(SYS_renameat2, d1, p1, d2, p2, fl, 0); }
static inline long sys_getcwd(char *buf, size_t n) { return SC(SYS_getcwd, buf, n, 0, 0, 0, 0); }
static inline long sys_memfd_create(const char *name, unsigned fl) { return SC(SYS_memfd_create, name, fl, 0, 0, 0, 0); }
static inline long sys_poll(void *fds, unsigned n, int ms) { return SC(SYS_poll, fds, n, ms, 0, 0, 0); }
static inline long sys_vmsplice(int fd, const void *iov, unsigned long n, unsigned fl)
{ return SC(SYS_vmsplice, fd, iov, n, fl, 0, 0); }
static inline long sys_ioctl(int fd, unsigned long req, void *arg) { return SC(SYS_ioctl, fd, req, arg, 0, 0, 0); }
static inline long sys_userfaultfd(int fl) { return SC(SYS_userfaultfd, fl, 0, 0, 0, 0, 0); }

/* sockets */
static inline long sys_socket(int dom, int type, int proto) { return SC(SYS_socket, dom, type, proto, 0, 0, 0); }
static inline long sys_bind(int s, const void *a, unsigned len) { return SC(SYS_bind, s, a, len, 0, 0, 0); }
static inline long sys_connect(int s, const void *a, unsigned len) { return SC(SYS_connect, s, a, len, 0, 0, 0); }
static inline long sys_listen(int s, int n) { return SC(SYS_listen, s, n, 0, 0, 0, 0); }
static inline long sys_accept4(int s, void *a, void *len, int fl) { return SC(SYS_accept4, s, a, len, fl, 0, 0); }
static inline long sys_getsockopt(int s, int lvl, int opt, void *v, void *len)
{ return SC(SYS_getsockopt, s, lvl, opt, v, len, 0); }
static inline long sys_setsockopt(int s, int lvl, int opt, const void *v, unsigned len)
{ return SC(SYS_setsockopt, s, lvl, opt, v, len, 0); }
static inline long sys_sendmsg(int s, const void *msg, int fl) { return SC(SYS_sendmsg, s, msg, fl, 0, 0, 0); }
static inline long sys_recvmsg(int s, void *msg, int fl) { return SC(SYS_recvmsg, s, msg, fl, 0, 0, 0); }

/* memory */
static inline long sys_mmap(uint64_t addr, size_t len, int prot, int fl, int fd, uint64_t off)
{ return SC(SYS_mmap, addr, len, prot, fl, fd, off); }
static inline long sys_munmap(uint64_t addr, size_t len) { return SC(SYS_munmap, addr, len, 0, 0, 0, 0); }
static inline long sys_mprotect(uint64_t addr, size_t len, int prot) { return SC(SYS_mprotect, addr, len, prot, 0, 0, 0); }
static inline long sys_shmat(int id, uint64_t addr, int fl) { return SC(SYS_shmat, id, addr, fl, 0, 0, 0); }
static inline long sys_mremap(uint64_t old, size_t olen, size_t nlen, int fl, uint64_t addr)
{ return SC(SYS_mremap, old, olen, nlen, fl, addr, 0); }
static inline long sys_mlock2(uint64_t addr, size_t len, int fl) { return SC(SYS_mlock2, addr, len, fl, 0, 0, 0); }
static inline long sys_madvise(uint64_t addr, size_t len, int adv) { return SC(SYS_madvise, addr, len, adv, 0, 0, 0); }
static inline long sys_brk(uint64_t addr) { return SC(SYS_brk, addr, 0, 0, 0, 0, 0); }

/* the process and its threads */
static inline long sys_getpid(void) { return SC(SYS_getpid, 0, 0, 0, 0, 0, 0); }
static inline long sys_gettid(void) { return SC(SYS_gettid, 0, 0, 0, 0, 0, 0); }
static inline long sys_geteuid(void) { return SC(SYS_geteuid, 0, 0, 0, 0, 0, 0); }
static inline long sys_umask(int m) { return SC(SYS_umask, m, 0, 0, 0, 0, 0); }
static inline long sys_personality(unsigned long p) { return SC(SYS_personality, p, 0, 0, 0, 0, 0); }
static inline long sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{ return SC(SYS_prctl, op, a, b, c, d, 0); }
static inline long sys_arch_prctl(int code, uint64_t addr) { return SC(SYS_arch_prctl, code, addr, 0, 0, 0, 0); }
static inline long sys_prlimit(int pid, int res, const void *nl, void *ol)
{ return SC(SYS_prlimit64, pid, res, nl, ol, 0, 0); }
static inline long sys_sched_yield(void) { return SC(SYS_sched_yield, 0, 0, 0, 0, 0, 0); }
static inline long sys_sched_getaffinity(int pid, size_t n, void *mask)
{ return SC(SYS_sched_getaffinity, pid, n, mask, 0, 0, 0); }
static inline long sys_sched_setaffinity(int pid, size_t n, const void *mask)
{ return SC(SYS_sched_setaffinity, pid, n, mask, 0, 0, 0); }
static inline long sys_sigaltstack(const void *ss, void *old) { return SC(SYS_sigaltstack, ss, old, 0, 0, 0, 0); }
static inline long sys_get_robust_list(int tid, void *head, void *len)
{ return SC(SYS_get_robust_list, tid, head, len, 0, 0, 0); }
static inline long sys_set_robust_list(uint64_t head, size_t len) { return SC(SYS_set_robust_list, head, len, 0, 0, 0, 0); }
static inline long sys_set_tid_address(uint64_t p) { return SC(SYS_set_tid_address, p, 0, 0, 0, 0, 0); }
static inline long sys_rseq(uint64_t area, uint32_t len, int fl, uint32_t sig)
{ return SC(SYS_rseq, area, len, fl, sig, 0, 0); }
static inline long sys_membarrier(int cmd, unsigned fl, int cpu)
{ return SC(SYS_membarrier, cmd, fl, cpu, 0, 0, 0); }
static inline long sys_futex(volatile void *w, int op, int val, const void *ts)
{ return SC(SYS_futex, w, op, val, ts, 0, 0); }
static inline _Noreturn void sys_exit(int st)
{
	for (;;)
		SC(SYS_exit, st, 0, 0, 0, 0, 0);
}
static inline _Noreturn void sys_exit_group(int st)
{
	for (;;)
		SC(SYS_exit_group, st, 0, 0, 0, 0, 0);
}

/* credentials, per thread */
static inline long sys_capget(void *hdr, void *data) { return SC(SYS_capget, hdr, data, 0, 0, 0, 0); }
static inline long sys_capset(void *hdr, const void *data) { return SC(SYS_capset, hdr, data, 0, 0, 0, 0); }
static inline long sys_setgroups(size_t n, const uint32_t *g) { return SC(SYS_setgroups, n, g, 0, 0, 0, 0); }
static inline long sys_setresuid(uint32_t r, uint32_t e, uint32_t s) { return SC(SYS_setresuid, r, e, s, 0, 0, 0); }
static inline long sys_setresgid(uint32_t r, uint32_t e, uint32_t s) { return SC(SYS_setresgid, r, e, s, 0, 0, 0); }
/* these return the old id, never an error: -1 asks without changing */
static inline long sys_setfsuid(int32_t id) { return SC(SYS_setfsuid, id, 0, 0, 0, 0, 0); }
static inline long sys_setfsgid(int32_t id) { return SC(SYS_setfsgid, id, 0, 0, 0, 0, 0); }

/* signals: the kernel's 8-byte sigset */
static inline long sys_rt_sigaction(int sig, const void *act, void *old)
{ return SC(SYS_rt_sigaction, sig, act, old, 8, 0, 0); }
static inline long sys_rt_sigprocmask(int how, const void *set, void *old)
{ return SC(SYS_rt_sigprocmask, how, set, old, 8, 0, 0); }
static inline long sys_kill(int pid, int sig) { return SC(SYS_kill, pid, sig, 0, 0, 0, 0); }
static inline long sys_tgkill(int pid, int tid, int sig) { return SC(SYS_tgkill, pid, tid, sig, 0, 0, 0); }
static inline long sys_rt_sigqueueinfo(int pid, int sig, const void *info)
{ return SC(SYS_rt_sigqueueinfo, pid, sig, info, 0, 0, 0); }
static inline long sys_tgsigqueueinfo(int pid, int tid, int sig, const void *info)
{ return SC(SYS_rt_tgsigqueueinfo, pid, tid, sig, info, 0, 0); }

/* time */
static inline long sys_clock_gettime(int clock, void *ts) { return SC(SYS_clock_gettime, clock, ts, 0, 0, 0, 0); }
static inline long sys_getitimer(int which, void *v) { return SC(SYS_getitimer, which, v, 0, 0, 0, 0); }
static inline long sys_setitimer(int which, const void *nv, void *ov) { return SC(SYS_setitimer, which, nv, ov, 0, 0, 0); }
/* POSIX timers: its (interval, value) pair is the kernel's itimerspec */
static inline long sys_timer_create(int clock, void *sigevent, int32_t *id)
{ return SC(SYS_timer_create, clock, sigevent, id, 0, 0, 0); }
static inline long sys_timer_settime(int32_t id, int fl, const void *nv, void *ov)
{ return SC(SYS_timer_settime, id, fl, nv, ov, 0, 0); }
static inline long sys_timer_gettime(int32_t id, void *v) { return SC(SYS_timer_gettime, id, v, 0, 0, 0, 0); }
static inline long sys_timer_getoverrun(int32_t id) { return SC(SYS_timer_getoverrun, id, 0, 0, 0, 0, 0); }
static inline long sys_timer_delete(int32_t id) { return SC(SYS_timer_delete, id, 0, 0, 0, 0, 0); }

#endif
