/* membar - membarrier registrations across a checkpoint.
 *
 * usage: membar
 *
 * Registers for MEMBARRIER_CMD_PRIVATE_EXPEDITED and starts a second
 * thread, then prints "pid N", "ready membar".  SIGUSR1: from each
 * thread, a private expedited barrier must succeed (EPERM when the
 * registration is gone) and the registrations still hold it: "verify
 * ok", else "FAIL ..." and exit 1.  SIGTERM: "done ok".
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define GET_REGISTRATIONS (1 << 9)

static volatile long worker_err = 1;  /* 1: not asked yet */
static volatile int ask;

static long barrier(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) < 0 ? -errno : 0;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		if (ask) {
			worker_err = barrier();
			ask = 0;
		}
		usleep(1000);
	}
	return NULL;
}

static int verify(void)
{
	long regs = syscall(SYS_membarrier, GET_REGISTRATIONS, 0, 0), e = barrier();
	int i;

	if (regs < 0 || !(regs & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) || e < 0)
		return printf("FAIL registrations %ld, barrier: %s\n", regs, strerror((int)-e)), -1;
	worker_err = 1;
	ask = 1;
	for (i = 0; i < 2000 && ask; i++)
		usleep(1000);
	if (worker_err)
		return printf("FAIL the second thread's barrier: %s\n",
			      worker_err == 1 ? "no answer" : strerror((int)-worker_err)), -1;
	return 0;
}

int main(void)
{
	pthread_t t;

	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) < 0 ||
	    pthread_create(&t, NULL, worker, NULL) != 0)
		return printf("FAIL cannot register: %m\n"), 1;
	return serve_verify("membar", verify);
}
