/* noshim - a parent under the shim with a child that runs without it.
 *
 * usage: noshim
 *
 * Forks a child that execs this program again ("noshim child FD") with
 * LD_PRELOAD taken out of its environment, as a program that clears
 * it does.  The child checks that no libckpt is mapped in it, prints
 * "child C noshim", tells the parent through the pipe at FD, then
 * prints "child tick N" every 10 ms; the parent prints "pid P",
 * "ready noshim child=C" once the child has told it, then
 * "parent tick N" every 10 ms.  SIGUSR1 to either: "verify ok
 * parent|child ticks=N".  SIGTERM to the parent: it passes it on,
 * reaps the child, "done ok" when the child exited 0.  The shim found
 * in the child, or a child that fails: "FAIL ...", exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

extern char **environ;

/* 1 when a libckpt is mapped in this process */
static int shim_mapped(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return perror("noshim: /proc/self/maps"), 1;
	while (fgets(line, sizeof line, f))
		if (strstr(line, "libckpt"))
			found = 1;
	fclose(f);
	return found;
}

/* the child, with the write end of the parent's pipe at fd */
static int child_main(int fd)
{
	signals_init();
	if (getenv("LD_PRELOAD") || shim_mapped()) {
		printf("FAIL child %d: the shim is here\n", (int)getpid());
		return 1;
	}
	printf("child %d noshim\n", (int)getpid());
	if (write(fd, "k", 1) != 1)
		return perror("noshim: child: write"), 1;
	close(fd);
	count_ticks("child");
	return 0;
}

static void exec_child(const char *self, int fd)
{
	static char *env[256];
	char arg[16];
	int k = 0;

	for (char **e = environ; *e && k < 255; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
			env[k++] = *e;
	snprintf(arg, sizeof arg, "%d", fd);
	execle(self, "noshim", "child", arg, (char *)NULL, env);
	perror("noshim: exec");
	_exit(127);
}

int main(int argc, char **argv)
{
	int p[2];
	char k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "child") == 0)
		return child_main(atoi(argv[2]));
	signals_init();
	if (pipe(p) < 0)
		return perror("pipe"), 1;
	pid_t c = fork();
	if (c < 0)
		return perror("fork"), 1;
	if (c == 0) {
		close(p[0]);
		exec_child("/proc/self/exe", p[1]);
	}
	close(p[1]);
	/* the child's checks passed once it writes; EOF: it failed */
	if (read(p[0], &k, 1) != 1)
		return printf("FAIL child %d did not start\n", (int)c), 1;
	close(p[0]);
	printf("pid %d\nready noshim child=%d\n", (int)getpid(), (int)c);
	count_ticks("parent");
	if (stop_child(c) < 0)
		return 1;
	printf("done ok\n");
	return 0;
}
