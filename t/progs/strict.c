/* strict - a program under seccomp's strict mode, which may only read,
 * write, sigreturn and exit its own thread.
 *
 * usage: strict CODE
 *
 * Prints "pid P" and "ready strict", waits half a second, enters strict
 * mode, writes "strict ok" and ends its thread with exit(2) (not
 * exit_group, which strict mode forbids) and CODE.  The process must
 * then end with CODE: nothing of the shim may keep it alive. */
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char ok[] = "strict ok\n";
	struct timespec half = { 0, 500000000 };
	int code = argc > 1 ? atoi(argv[1]) : 0;

	printf("pid %d\nready strict\n", (int)getpid());
	fflush(stdout);
	nanosleep(&half, NULL);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) < 0) {
		printf("FAIL prctl\n");
		return 1;
	}
	syscall(SYS_write, 1, ok, sizeof ok - 1);
	syscall(SYS_exit, code);
	return 99;
}
