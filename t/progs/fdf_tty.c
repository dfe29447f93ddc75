/* fdf_tty - /dev/tty of a process with a controlling terminal
 * (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_tty (run on a terminal: script(1) gives it one)
 *
 * Opens /dev/tty O_RDWR|O_NOCTTY and prints "open tty FD".  Check
 * (SIGUSR1, SIGTERM): the fd is still /dev/tty (5:0), a terminal
 * (isatty), on a pseudo-terminal (TIOCGDEV says major 136-143), and a
 * write to it works: "tty isatty=1 pts=1 wrote=1". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "prog.h"

static int fd;

static int verify(void)
{
	unsigned dev = 0;
	struct stat st;
	int pts;

	pts = ioctl(fd, TIOCGDEV, &dev) == 0 && major(dev) >= 136 && major(dev) <= 143;
	printf("tty isatty=%d pts=%d is_dev_tty=%d wrote=%d\n", isatty(fd), pts,
	       fstat(fd, &st) == 0 && st.st_rdev == makedev(5, 0), write(fd, "\n", 1) == 1);
	return 0;
}

int main(void)
{
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY)) < 0)
		return printf("FAIL /dev/tty: %s\n", strerror(errno)), 1;
	printf("open tty %d\n", fd);
	return serve_verify("fdf_tty", verify);
}
