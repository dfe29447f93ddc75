/* sys.h - raw system calls for the restorer: each returns the result or
 * -errno.
 *
 * May not: use errno, TLS, malloc or stdio.  Only what the restorer
 * calls is here. */
#ifndef RST_SYS_H
#define RST_SYS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "sys_arch.h"

#define SC(n, a, b, c, d, e, f) \
	sys_call6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline long sys_read(int fd, void *buf, size_t n) { return SC(SYS_read, fd, buf, n, 0, 0, 0); }
static inline long sys_write(int fd, const void *buf, size_t n) { return SC(SYS_write, fd, buf, n, 0, 0, 0); }
static inline long sys_open(const char *p, int fl, int mode) { return SC(SYS_open, p, fl, mode, 0, 0, 0); }
static inline long sys_close(int fd) { return SC(SYS_close, fd, 0, 0, 0, 0, 0); }
static inline long sys_fstat(int fd, void *st) { return SC(SYS_fstat, fd, st, 0, 0, 0, 0); }
static inline long sys_fcntl(int fd, int cmd, long arg) { return SC(SYS_fcntl, fd, cmd, arg, 0, 0, 0); }
static inline long sys_mmap(uint64_t addr, size_t len, int prot, int fl, int fd, uint64_t off)
{ return SC(SYS_mmap, addr, len, prot, fl, fd, off); }
static inline long sys_munmap(uint64_t addr, size_t len) { return SC(SYS_munmap, addr, len, 0, 0, 0, 0); }
static inline long sys_mprotect(uint64_t addr, size_t len, int prot) { return SC(SYS_mprotect, addr, len, prot, 0, 0, 0); }
static inline long sys_mremap(uint64_t old, size_t olen, size_t nlen, int fl, uint64_t addr)
{ return SC(SYS_mremap, old, olen, nlen, fl, addr, 0); }
static inline long sys_memfd_create(const char *name, unsigned fl) { return SC(SYS_memfd_create, name, fl, 0, 0, 0, 0); }
static inline long sys_ftruncate(int fd, uint64_t len) { return SC(SYS_ftruncate, fd, len, 0, 0, 0, 0); }
static inline long sys_mlock2(uint64_t addr, size_t len, int fl) { return SC(SYS_mlock2, addr, len, fl, 0, 0, 0); }
static inline long sys_madvise(uint64_t addr, size_t len, int adv) { return SC(SYS_madvise, addr, len, adv, 0, 0, 0); }
static inline long sys_getpid(void) { return SC(SYS_getpid, 0, 0, 0, 0, 0, 0); }
static inline long sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{ return SC(SYS_prctl, op, a, b, c, d, 0); }
static inline long sys_arch_prctl(int code, unsigned long addr) { return SC(SYS_arch_prctl, code, addr, 0, 0, 0, 0); }
static inline long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old)
{ return SC(SYS_rt_sigprocmask, how, set, old, 8, 0, 0); }
static inline long sys_rt_sigaction(int sig, const void *act, void *old)
{ return SC(SYS_rt_sigaction, sig, act, old, 8, 0, 0); }
static inline long sys_prlimit(int pid, int res, const void *nl, void *ol)
{ return SC(SYS_prlimit64, pid, res, nl, ol, 0, 0); }
static inline long sys_setitimer(int which, const void *nv, void *ov) { return SC(SYS_setitimer, which, nv, ov, 0, 0, 0); }
static inline long sys_tgkill(int pid, int tid, int sig) { return SC(SYS_tgkill, pid, tid, sig, 0, 0, 0); }
static inline long sys_kill(int pid, int sig) { return SC(SYS_kill, pid, sig, 0, 0, 0, 0); }
static inline long sys_umask(int m) { return SC(SYS_umask, m, 0, 0, 0, 0, 0); }
static inline _Noreturn void sys_exit_group(int st)
{
	for (;;)
		SC(SYS_exit_group, st, 0, 0, 0, 0, 0);
}

#endif
