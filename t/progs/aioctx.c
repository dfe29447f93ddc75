/* aioctx - a Linux AIO context (io_setup), which a restore cannot make
 * again.
 *
 * usage: aioctx
 *
 * Sets up an AIO context for 16 events, prints "pid N", "ctx 0xADDR"
 * (its id: the address of its ring), "ready aioctx".  SIGUSR1: the
 * context must still answer io_getevents (no events, no error):
 * "verify ok", else "FAIL ..." and exit 1.  SIGTERM: "done ok".
 */
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static aio_context_t ctx;

static int verify(void)
{
	struct io_event ev;
	struct timespec none = { 0, 0 };

	if (syscall(SYS_io_getevents, ctx, 0, 1, &ev, &none) < 0)
		return printf("FAIL io_getevents on 0x%llx: %m\n", (unsigned long long)ctx), -1;
	return 0;
}

int main(void)
{
	if (syscall(SYS_io_setup, 16, &ctx) < 0)
		return printf("FAIL io_setup: %m\n"), 1;
	printf("ctx 0x%llx\n", (unsigned long long)ctx);
	return serve_verify("aioctx", verify);
}
