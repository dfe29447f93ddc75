/* sys_arch.h - raw x86-64 system calls for the shim and the restorer:
 * they return -errno and touch neither errno nor any other TLS, so they
 * are safe in signal handlers, while threads are frozen, and in a
 * restorer that has left musl's TLS behind.  Not for clone3 of a thread
 * (the child has no stack of its own: restorer/x86_64/entry.S). */
#ifndef CKPT_SYS_ARCH_H
#define CKPT_SYS_ARCH_H

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002

static inline long sys_call6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* the xsave features the kernel uses for signal frames (0 without xsave) */
static inline unsigned long long cpu_xcr0(void)
{
	unsigned a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)))  /* OSXSAVE */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (unsigned long long)hi << 32 | lo;
}

#endif
