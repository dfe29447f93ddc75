/* sandboxed - a program under a seccomp filter, which a checkpoint
 * must refuse (a filter cannot be restored): it never runs without it.
 *
 * usage: sandboxed
 *
 * Sets no_new_privs, then a filter that makes getppid() fail with
 * EPERM in the main thread.  Prints "pid N", "ready sandboxed".
 * SIGUSR1: getppid() must still fail with EPERM ("verify ok", else
 * "FAIL getppid ..."); SIGTERM: the same, "done ok", exit 0.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static int filter_install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = { sizeof f / sizeof *f, f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p, 0, 0);
}

static int forbidden_fails(void)
{
	long r = syscall(SYS_getppid);

	if (r == -1 && errno == EPERM)
		return 1;
	printf("FAIL getppid returned %ld (%s): the filter is gone\n", r, r < 0 ? strerror(errno) : "ok");
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	if (filter_install() < 0) {
		printf("FAIL seccomp: %s\n", strerror(errno));
		return 1;
	}
	if (!forbidden_fails())
		return 1;
	printf("pid %d\nready sandboxed\n", (int)getpid());
	for (;;) {
		wait_request();
		if (!forbidden_fails())
			return 1;
		if (verified())
			return 0;
	}
}
