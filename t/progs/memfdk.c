/* memfdk - memfds whose mode and seals a restore must give back
 * (t/fdkinds.bats, issue 17).
 *
 * usage: memfdk
 *
 * sealed: MFD_ALLOW_SEALING, "sealed bytes", mode 0640, sealed
 *         F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE;
 * plain:  no sealing (F_SEAL_SEAL from memfd_create), "plain bytes",
 *         mode 0600;
 * locked: MFD_ALLOW_SEALING, "locked bytes", mode 0755, sealed
 *         F_SEAL_WRITE|F_SEAL_SEAL.
 * Prints "open NAME FD" for each, "pid N", "ready memfdk".  On SIGUSR1,
 * for each: "memfd NAME fd=FD mode=0OCT seals=0xHEX bytes=BYTES
 * write=ok|EPERM" (fstat, F_GET_SEALS, pread, and a pwrite of the
 * first byte as it is).  SIGTERM: the same, then "done ok". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const struct {
	const char *name, *bytes;
	unsigned flags, mode;
	int seals;
} want[] = {
	{ "sealed", "sealed bytes", MFD_ALLOW_SEALING, 0640,
	  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE },
	{ "plain", "plain bytes", 0, 0600, 0 },
	{ "locked", "locked bytes", MFD_ALLOW_SEALING, 0755, F_SEAL_WRITE | F_SEAL_SEAL },
};
#define N (sizeof want / sizeof *want)
static int fds[N];

static int verify(void)
{
	char buf[64];  /* the bytes, as put_bytes writes them */
	struct stat st;
	ssize_t n;
	unsigned i;
	int w;

	for (i = 0; i < N; i++) {
		if (fstat(fds[i], &st) < 0 || (n = pread(fds[i], buf, sizeof buf - 1, 0)) < 0) {
			printf("FAIL memfd %s fd=%d: %s\n", want[i].name, fds[i], strerror(errno));
			return -1;
		}
		buf[n] = 0;
		w = pwrite(fds[i], buf, 1, 0) == 1 ? 0 : errno;
		printf("memfd %s fd=%d mode=0%o seals=0x%x bytes=", want[i].name, fds[i],
		       (unsigned)st.st_mode & 07777, fcntl(fds[i], F_GET_SEALS));
		put_bytes(buf, n);
		printf(" write=%s\n", w == 0 ? "ok" : w == EPERM ? "EPERM" : strerror(w));
	}
	return 0;
}

int main(void)
{
	unsigned i;

	for (i = 0; i < N; i++) {
		fds[i] = memfd_create(want[i].name, want[i].flags);
		if (fds[i] < 0 || write(fds[i], want[i].bytes, strlen(want[i].bytes)) < 0 ||
		    fchmod(fds[i], want[i].mode) < 0 ||
		    (want[i].seals && fcntl(fds[i], F_ADD_SEALS, want[i].seals) < 0))
			return printf("FAIL memfd %s: %s\n", want[i].name, strerror(errno)), 1;
		printf("open %s %d\n", want[i].name, fds[i]);
	}
	return serve_verify("memfdk", verify);
}
