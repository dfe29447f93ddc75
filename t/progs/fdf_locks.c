/* fdf_locks - a flock, an OFD lock and a POSIX lock, each the
 * process's own after the restore (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_locks DIR
 *
 * DIR/f flock'ed (LOCK_EX), DIR/o with an OFD write lock on bytes 1-3,
 * DIR/p with a POSIX write lock on bytes 0-3.  Prints "open f FD" (and
 * o, p).  At each request it checks that /proc names it as the owner
 * of its flock and POSIX lock (fdinfo's lock lines) and that another
 * process's lock on each file still conflicts; on SIGTERM also that
 * its unlock releases the flock and its close the OFD and POSIX locks
 * (another process then takes each), and prints "locks owner=1
 * conflict=1 released=1", then "done ok". */
#include <fcntl.h>
#include <sys/file.h>

#include "prog.h"

static int ff, fo, fp;
static char path[3][4096];

/* the pid /proc/self/fdinfo/FD gives for its first lock of kind
 * ("FLOCK", "POSIX", "OFDLCK"), 0 when none */
static long lock_pid(int fd, const char *kind)
{
	char p[64], line[256], k[16];
	long pid = 0, v;
	FILE *f;

	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(p, "r")))
		return 0;
	while (!pid && fgets(line, sizeof line, f))
		if (sscanf(line, "lock: %*d: %15s %*s %*s %ld", k, &v) == 2 && !strcmp(k, kind))
			pid = v;
	fclose(f);
	return pid;
}

/* in a child, on file i opened again: 0 when its lock (0 flock, 1 OFD,
 * 2 POSIX) is refused, 1 when it was taken */
static int other_takes(int i)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
	int fd, st, r;
	pid_t c;

	fflush(stdout);
	if ((c = fork()) == 0) {
		if ((fd = open(path[i], O_RDWR)) < 0)
			_exit(2);
		r = i == 0 ? flock(fd, LOCK_EX | LOCK_NB) :
		    fcntl(fd, i == 1 ? F_OFD_SETLK : F_SETLK, &fl);
		_exit(r == 0 ? 1 : errno == EWOULDBLOCK || errno == EAGAIN || errno == EACCES ? 0 : 2);
	}
	if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return printf("FAIL lock check of %s: status 0x%x\n", path[i], c < 0 ? -1 : st), -1;
	return WEXITSTATUS(st);
}

/* the process's own unlock and closes release its locks */
static int release(void)
{
	if (flock(ff, LOCK_UN) < 0 || close(fo) < 0 || close(fp) < 0)
		return printf("FAIL unlock: %s\n", strerror(errno)), -1;
	for (int i = 0; i < 3; i++)
		if (other_takes(i) != 1)
			return printf("FAIL %s: still locked after the unlock\n", path[i]), -1;
	return 0;
}

static int verify(void)
{
	long me = getpid();

	if (lock_pid(ff, "FLOCK") != me || lock_pid(fp, "POSIX") != me)
		return printf("FAIL owner: flock %ld posix %ld, not %ld\n", lock_pid(ff, "FLOCK"),
			      lock_pid(fp, "POSIX"), me), -1;
	if (lock_pid(fo, "OFDLCK") != -1)
		return printf("FAIL OFD lock: pid %ld\n", lock_pid(fo, "OFDLCK")), -1;
	for (int i = 0; i < 3; i++)
		if (other_takes(i) != 0)
			return printf("FAIL another process took the lock on %s\n", path[i]), -1;
	if (!want_exit)
		return 0;
	if (release() < 0)
		return -1;
	printf("locks owner=1 conflict=1 released=1\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct flock fo_l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 3 };
	struct flock fp_l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
	const char *d = dir_arg(argc, argv, "fdf_locks DIR");

	snprintf(path[0], sizeof path[0], "%s/f", d);
	snprintf(path[1], sizeof path[1], "%s/o", d);
	snprintf(path[2], sizeof path[2], "%s/p", d);
	if ((ff = open(path[0], O_RDWR | O_CREAT, 0644)) < 0 ||
	    (fo = open(path[1], O_RDWR | O_CREAT, 0644)) < 0 ||
	    (fp = open(path[2], O_RDWR | O_CREAT, 0644)) < 0 || flock(ff, LOCK_EX | LOCK_NB) < 0 ||
	    fcntl(fo, F_OFD_SETLK, &fo_l) < 0 || fcntl(fp, F_SETLK, &fp_l) < 0)
		return printf("FAIL setup: %s\n", strerror(errno)), 1;
	printf("open f %d\nopen o %d\nopen p %d\n", ff, fo, fp);
	return serve_verify("fdf_locks", verify);
}
