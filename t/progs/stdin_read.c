/* stdin_read - read stdin a little at a time, for the restore test of
 * bytes still queued in a stdin pipe (t/fdrestore.bats).
 *
 * Prints "pid N", "ready stdin_read", then on each SIGUSR1 reads up to
 * 4 bytes with one read(2) on fd 0 (no stdio buffer: what is not read
 * stays queued in the pipe) and prints "read BYTES" or "read EOF",
 * then "verify ok".  SIGTERM: "done ok" and exit 0. */
#include <errno.h>
#include <string.h>

#include "prog.h"

int main(void)
{
	char buf[4];
	ssize_t n;

	printf("pid %d\nready stdin_read\n", (int)getpid());
	fflush(stdout);
	signals_init();
	for (;;) {
		wait_request();
		if (want_verify) {
			n = read(0, buf, sizeof buf);
			if (n < 0) {
				printf("FAIL read: %s\n", strerror(errno));
				return 1;
			}
			if (n == 0) {
				printf("read EOF\n");
			} else {
				printf("read ");
				put_bytes(buf, n);
				printf("\n");
			}
		}
		if (verified())
			return 0;
	}
}
