/* rseqoff - a thread that unregistered glibc's rseq area keeps none.
 *
 * usage: rseqoff
 *
 * The main thread unregisters the rseq area glibc registered for it
 * (as a program that manages rseq itself does), then prints "pid N",
 * "ready rseqoff".  SIGUSR1: check that the thread still has no rseq
 * area (unregistering glibc's again fails with EINVAL): "verify ok",
 * else "FAIL ..." and exit 1.  SIGTERM: "done ok".  Exit 2 when glibc
 * registered none (nothing to test).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static long rseq_unregister(unsigned len)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	return syscall(SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0 ? -errno : 0;
}

static int verify(void)
{
	static const unsigned lens[] = { 32, 64, 128 };
	unsigned i;

	for (i = 0; i < sizeof lens / sizeof *lens; i++)
		if (rseq_unregister(lens[i]) == 0)
			return printf("FAIL an rseq area of %u bytes was registered behind the program's back\n",
				      lens[i]), -1;
	return 0;
}

int main(void)
{
	static const unsigned lens[] = { 32, 64, 128 };
	unsigned i;

	if (!__rseq_size)
		return 2;
	for (i = 0; i < sizeof lens / sizeof *lens && rseq_unregister(lens[i]) < 0; i++)
		;
	if (i == sizeof lens / sizeof *lens)
		return printf("FAIL cannot unregister glibc's rseq area\n"), 1;
	return serve_verify("rseqoff", verify);
}
