/* subreap - run a command as a child subreaper, so that whatever the
 * command leaves behind when it dies comes back to us and can be
 * counted.
 *
 * usage: subreap SECS CMD [ARG...]
 *
 * Prints "child PID" once CMD runs.  When CMD has ended (a test kills
 * it), waits up to SECS seconds for every process CMD left to end too,
 * reaping them; then prints "left PID COMM" for each one still there
 * (a child of ours: an orphan of CMD) and "left 0" when none is, and
 * exits 1 if any is left, else 0.  It kills nothing: the test decides
 * whether what is left is allowed, and cleans it up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void comm_of(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	buf[0] = 0;
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* our children still there, from /proc/self/task/TID/children */
static int children_list(void)
{
	char path[64], comm[64];
	int pid, n = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	if (!(f = fopen(path, "r")))
		return perror("subreap: children"), -1;
	while (fscanf(f, "%d", &pid) == 1) {
		comm_of(pid, comm, sizeof comm);
		printf("left %d %s\n", pid, comm);
		n++;
	}
	fclose(f);
	if (!n)
		printf("left 0\n");
	return n;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int secs, i, st;
	pid_t cmd, w;

	if (argc < 3 || (secs = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: subreap SECS CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return perror("subreap: PR_SET_CHILD_SUBREAPER"), 1;
	if ((cmd = fork()) == 0) {
		execvp(argv[2], argv + 2);
		perror("subreap: exec");
		_exit(127);
	}
	printf("child %d\n", (int)cmd);
	fflush(stdout);
	while ((w = waitpid(cmd, &st, 0)) < 0 && errno == EINTR)
		;
	for (i = 0; i < secs * 100; i++) {
		w = waitpid(-1, &st, WNOHANG);
		if (w < 0 && errno == ECHILD)
			break;
		if (w == 0)
			nanosleep(&ts, NULL);
	}
	i = children_list();
	fflush(stdout);
	return i != 0;
}
