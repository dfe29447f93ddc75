/* tracer - another tracer, already there: seizes thread TID with
 * ptrace and holds it (never stops it) until SIGTERM.
 *
 * usage: tracer TID
 *
 * Prints "tracing TID" once it has seized the thread. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t tid = argc == 2 ? atoi(argv[1]) : 0;

	if (tid <= 0) {
		fprintf(stderr, "usage: tracer TID\n");
		return 2;
	}
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
		perror("tracer: ptrace(SEIZE)");
		return 1;
	}
	printf("tracing %d\n", (int)tid);
	fflush(stdout);
	for (;;)
		pause();
}
