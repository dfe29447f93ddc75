/* fdf_forkdel - a deleted file's open file description shared by a
 * parent and its child (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_forkdel DIR
 *
 * DIR/f opened O_RDWR, "abc" written (offset 3), unlinked; then a child
 * forked, which holds the same description.  Prints "open f FD",
 * "child PID".  On SIGTERM the parent writes "P" (offset 4) and stops
 * the child (SIGTERM), which checks that it sees the offset move and
 * the byte, through the one description: its exit status says; the
 * parent prints "forkdel shared=1" when it was 0, then "done ok". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "prog.h"

static int fd;

static int child_main(void)
{
	char buf[8] = "";

	prctl(PR_SET_PDEATHSIG, SIGKILL);   /* ends with its parent, however that ends */
	signals_init();
	wait_request();
	return !(lseek(fd, 0, SEEK_CUR) == 4 && pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "abcP", 4));
}

int main(int argc, char **argv)
{
	char p[4096];
	pid_t c;

	snprintf(p, sizeof p, "%s/f", dir_arg(argc, argv, "fdf_forkdel DIR"));
	if ((fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0 || write(fd, "abc", 3) != 3 ||
	    unlink(p) < 0)
		return printf("FAIL setup: %s\n", strerror(errno)), 1;
	fflush(stdout);
	if ((c = fork()) == 0)
		return child_main();
	printf("open f %d\nchild %d\npid %d\nready fdf_forkdel\n", fd, (int)c, (int)getpid());
	fflush(stdout);
	signals_init();
	while (!want_exit)
		pause();
	if (write(fd, "P", 1) != 1)
		return printf("FAIL write: %s\n", strerror(errno)), 1;
	if (stop_child(c) < 0)
		return 1;
	printf("forkdel shared=1\ndone ok\n");
	return 0;
}
