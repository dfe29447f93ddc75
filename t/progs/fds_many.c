/* fds_many - N files open at once, for ckpt-dumpfds's batches of fds.
 *
 * usage: fds_many DIR N
 *
 * Creates DIR/f0 .. DIR/f(N-1), each holding "file I\n", and keeps each
 * open read-write at offset 2 (a database, whose bytes are saved).
 * Prints "pid N", "fds FIRST LAST", "ready fds_many", then waits.
 * SIGUSR1: check every fd's offset and bytes, print "verify ok".
 * SIGTERM: the same, "done ok", exit 0.  A mismatch: "FAIL ...", exit 1. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog.h"


static int open_one(const char *dir, int i)
{
	char path[4096], text[32];
	int fd, n = snprintf(text, sizeof text, "file %d\n", i);

	snprintf(path, sizeof path, "%s/f%d", dir, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, n) != n || lseek(fd, 2, SEEK_SET) != 2) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int verify(const int *fds, int n)
{
	char want[32], buf[32];
	int i, len;

	for (i = 0; i < n; i++) {
		len = snprintf(want, sizeof want, "file %d\n", i);
		memset(buf, 0, sizeof buf);
		if (lseek(fds[i], 0, SEEK_CUR) != 2 || pread(fds[i], buf, sizeof buf - 1, 0) != len ||
		    strcmp(buf, want)) {
			printf("FAIL fd %d: f%d holds \"%s\"\n", fds[i], i, buf);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int n, i, *fds;

	if (argc != 3 || (n = atoi(argv[2])) <= 0)
		return fprintf(stderr, "usage: fds_many DIR N\n"), 2;
	/* room for N besides stdio and the shim's own */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc(n, sizeof *fds);
	for (i = 0; i < n; i++)
		fds[i] = open_one(argv[1], i);
	printf("pid %d\nfds %d %d\nready fds_many\n", (int)getpid(), fds[0], fds[n - 1]);
	fflush(stdout);
	signals_init();
	for (;;) {
		wait_request();
		if (verify(fds, n) < 0)
			return 1;
		if (verified())
			return 0;
	}
}
