/* sys.h - the raw system calls the shim uses on its frozen paths.
 * Each returns the kernel's result: >= 0, or -errno.  No errno, no
 * locks, no allocation. */
#ifndef CKPT_SYS_H
#define CKPT_SYS_H
#include <stddef.h>
#include <sys/syscall.h>

#include "sys_arch.h"

#define sys_call0(n)             sys_call6(n, 0, 0, 0, 0, 0, 0)
#define sys_call1(n, a)          sys_call6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys_call2(n, a, b)       sys_call6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys_call3(n, a, b, c)    sys_call6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys_call4(n, a, b, c, d) sys_call6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#define sys_read(fd, b, n)          sys_call3(SYS_read, fd, b, n)
#define sys_write(fd, b, n)         sys_call3(SYS_write, fd, b, n)
#define sys_close(fd)               sys_call1(SYS_close, fd)
#define sys_openat(d, p, f)         sys_call4(SYS_openat, d, p, f, 0)
#define sys_lseek(fd, o, w)         sys_call3(SYS_lseek, fd, o, w)
#define sys_getdents64(fd, b, n)    sys_call3(SYS_getdents64, fd, b, n)
#define sys_fcntl(fd, c, a)         sys_call3(SYS_fcntl, fd, c, a)
#define sys_getpid()                sys_call0(SYS_getpid)
#define sys_gettid()                sys_call0(SYS_gettid)
#define sys_geteuid()               sys_call0(SYS_geteuid)
#define sys_kill(p, s)              sys_call2(SYS_kill, p, s)
#define sys_tgsigqueueinfo(p, t, s, i) sys_call4(SYS_rt_tgsigqueueinfo, p, t, s, i)
#define sys_futex(a, op, v, ts)     sys_call4(SYS_futex, a, op, v, ts)
#define sys_rt_sigaction(s, a, o)   sys_call4(SYS_rt_sigaction, s, a, o, 8)
#define sys_rt_sigprocmask(h, s, o) sys_call4(SYS_rt_sigprocmask, h, s, o, 8)
#define sys_prlimit(r, n, o)        sys_call4(SYS_prlimit64, 0, r, n, o)
#define sys_getitimer(w, v)         sys_call2(SYS_getitimer, w, v)
#define sys_umask(m)                sys_call1(SYS_umask, m)
#define sys_getcwd(b, n)            sys_call2(SYS_getcwd, b, n)
#define sys_readlinkat(d, p, b, n)  sys_call4(SYS_readlinkat, d, p, b, n)
#define sys_brk(a)                  sys_call1(SYS_brk, a)
#define sys_prctl(o, a, b)          sys_call3(SYS_prctl, o, a, b)
#define sys_arch_prctl(c, a)        sys_call2(SYS_arch_prctl, c, a)
#define sys_personality(p)          sys_call1(SYS_personality, p)
#define sys_sigaltstack(n, o)       sys_call2(SYS_sigaltstack, n, o)
#define sys_get_robust_list(t, h, l) sys_call3(SYS_get_robust_list, t, h, l)
#define sys_set_robust_list(h, l)   sys_call2(SYS_set_robust_list, h, l)
#define sys_set_tid_address(p)      sys_call1(SYS_set_tid_address, p)
#define sys_sched_getaffinity(p, n, m) sys_call3(SYS_sched_getaffinity, p, n, m)
#define sys_sched_setaffinity(p, n, m) sys_call3(SYS_sched_setaffinity, p, n, m)
#define sys_rseq(a, l, f, s)        sys_call4(SYS_rseq, a, l, f, s)
#define sys_socket(d, t, p)         sys_call3(SYS_socket, d, t, p)
#define sys_bind(s, a, l)           sys_call3(SYS_bind, s, a, l)
#define sys_connect(s, a, l)        sys_call3(SYS_connect, s, a, l)
#define sys_listen(s, n)            sys_call2(SYS_listen, s, n)
#define sys_accept4(s, a, l, f)     sys_call4(SYS_accept4, s, a, l, f)
#define sys_getsockopt(s, l, o, v, n) sys_call6(SYS_getsockopt, s, l, o, (long)(v), (long)(n), 0)
#define sys_sendmsg(s, m, f)        sys_call3(SYS_sendmsg, s, m, f)
#define sys_recvmsg(s, m, f)        sys_call3(SYS_recvmsg, s, m, f)
#define sys_unlinkat(d, p, f)       sys_call3(SYS_unlinkat, d, p, f)
#define sys_renameat2(d, p, e, q, f) sys_call6(SYS_renameat2, d, (long)(p), e, (long)(q), f, 0)
#define sys_openat2(d, p, h, n)     sys_call4(SYS_openat2, d, p, h, n)
#define sys_fstat(fd, st)           sys_call2(SYS_fstat, fd, st)
#define sys_setsockopt(s, l, o, v, n) sys_call6(SYS_setsockopt, s, l, o, (long)(v), n, 0)
#define sys_clock_gettime(c, ts)    sys_call2(SYS_clock_gettime, c, ts)
#define sys_vmsplice(fd, iov, n, f) sys_call4(SYS_vmsplice, fd, iov, n, f)
#define sys_poll(p, n, t)           sys_call3(SYS_poll, p, n, t)

#endif
