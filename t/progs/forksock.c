/* forksock - forks in a tight loop; each child checks that the only
 * socket it holds is its own shim's (the program opens none), so none
 * of the parent's control connections or its listening socket came
 * along.  Prints "forks N" now and then; SIGUSR1: "verify ok" while no
 * child found another socket, else a FAIL line; SIGTERM: finish. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "prog.h"

/* the socket fds of this process */
static int sockets_held(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], link[64];
	ssize_t k;
	int n = 0;

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		k = readlink(path, link, sizeof link - 1);
		if (k > 7 && !memcmp(link, "socket:", 7))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* one child: exit 3 when it holds more than its own shim's socket */
static int fork_one(void)
{
	pid_t c = fork();
	int st;

	if (c < 0)
		return 0;
	if (c == 0)
		_exit(sockets_held() > 1 ? 3 : 0);
	while (waitpid(c, &st, 0) < 0)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 3;
}

int main(void)
{
	long forks = 0, bad = 0;

	printf("pid %d\nready forksock\n", (int)getpid());
	fflush(stdout);
	signals_init();
	for (;;) {
		bad += fork_one();
		if (++forks % 500 == 0) {
			printf("forks %ld\n", forks);
			fflush(stdout);
		}
		if (want_verify || want_exit) {
			if (bad) {
				printf("FAIL %ld of %ld children held a socket of their parent\n",
				       bad, forks);
				fflush(stdout);
				return 1;
			}
			if (verified())
				return 0;
		}
	}
}
