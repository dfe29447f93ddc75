/* forksock - forks in a tight loop; each child checks that it holds
 * no socket of its parent's shim: neither its listening socket nor a
 * connection accepted on it (both carry the name PARENT.sock).  Prints "forks N" now and then; SIGUSR1: "verify ok" while no
 * child found another socket, else a FAIL line; SIGTERM: finish. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "prog.h"

/* the fds of this process that are sockets bound to NAME.sock of
 * pid, the shim's name for pid's control socket (a connection
 * accepted on it has the listener's name) */
static int sockets_of(pid_t pid)
{
	DIR *d = opendir("/proc/self/fd");
	struct sockaddr_un sa;
	socklen_t len;
	struct dirent *e;
	char suffix[32];
	size_t n, k = snprintf(suffix, sizeof suffix, "/%d.sock", (int)pid);
	int found = 0;

	while (d && (e = readdir(d))) {
		len = sizeof sa;
		memset(&sa, 0, sizeof sa);
		if (getsockname(atoi(e->d_name), (struct sockaddr *)&sa, &len) < 0 ||
		    sa.sun_family != AF_UNIX)
			continue;
		n = strnlen(sa.sun_path, sizeof sa.sun_path);
		found += n > k && !strcmp(sa.sun_path + n - k, suffix);
	}
	if (d)
		closedir(d);
	return found;
}

/* one child: exit 3 when it holds more than its own shim's socket */
static int fork_one(void)
{
	pid_t c = fork();
	int st;

	if (c < 0)
		return 0;
	if (c == 0)
		_exit(sockets_of(getppid()) ? 3 : 0);
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
