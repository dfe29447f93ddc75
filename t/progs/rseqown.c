/* rseqown - a thread with an rseq area of its own, not glibc's.
 *
 * usage: rseqown
 *
 * The main thread unregisters the area glibc registered for it and
 * registers one of its own (as a program that manages rseq itself
 * does), then prints "pid N", "ready rseqown".  SIGUSR1: check that its
 * own area is still the registered one (registering it again is
 * EBUSY): "verify ok", else "FAIL ..." and exit 1.  SIGTERM: "done ok".
 * Exit 2 when glibc registered none.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static struct rseq own __attribute__((aligned(32)));

static long rseq_call(void *area, unsigned len, int flags)
{
	return syscall(SYS_rseq, area, len, flags, RSEQ_SIG) < 0 ? -errno : 0;
}

static int verify(void)
{
	long e = rseq_call(&own, 32, 0);

	if (e != -EBUSY)
		return printf("FAIL its own rseq area is not registered (%ld)\n", e), -1;
	return 0;
}

int main(void)
{
	char *glibc = (char *)__builtin_thread_pointer() + __rseq_offset;
	static const unsigned lens[] = { 32, 64, 128 };
	unsigned i;

	if (!__rseq_size)
		return 2;
	for (i = 0; i < sizeof lens / sizeof *lens && rseq_call(glibc, lens[i], RSEQ_FLAG_UNREGISTER) < 0; i++)
		;
	if (i == sizeof lens / sizeof *lens || rseq_call(&own, 32, 0) < 0)
		return printf("FAIL cannot put its own rseq area in place of glibc's\n"), 1;
	return serve_verify("rseqown", verify);
}
