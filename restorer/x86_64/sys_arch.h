/* sys_arch.h - the restorer's one way into the kernel on x86-64.
 *
 * May not: touch errno or TLS (the restorer moves away from musl's TLS
 * and never comes back), or be used for clone3 of a thread (entry.S
 * does that: the child has no stack of its own). */
#ifndef RST_SYS_ARCH_H
#define RST_SYS_ARCH_H

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

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002

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
