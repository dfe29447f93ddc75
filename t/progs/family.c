/* family - a parent and the child it forks, each counting.
 *
 * usage: family
 *
 * Forks once.  The parent prints "pid P", "child C", "ready family
 * pid=P child=C", then "parent tick N" every 10 ms; the child prints
 * "child tick N".  The shim must give the child its own socket and
 * control thread, so each can be checkpointed on its own while the
 * other runs on.  SIGUSR1 to either: "verify ok parent|child ticks=N".
 * SIGTERM to the parent: it stops the child, reaps it and exits 0 if
 * the child exited 0 ("done ok"), else "FAIL child ...", exit 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"


static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (want_verify || want_exit)
			return;
}

/* count until SIGTERM; returns the ticks */
static uint64_t count(const char *who)
{
	uint64_t ticks = 0;

	while (!want_exit) {
		if (want_verify) {
			want_verify = 0;
			printf("verify ok %s ticks=%" PRIu64 "\n", who, ticks);
		}
		printf("%s tick %" PRIu64 "\n", who, ++ticks);
		nap_ms(10);
	}
	return ticks;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return perror("fork"), 1;
	if (c == 0) {
		count("child");
		return 0;
	}
	printf("pid %d\nchild %d\n", (int)getpid(), (int)c);
	printf("ready family pid=%d child=%d\n", (int)getpid(), (int)c);
	count("parent");
	kill(c, SIGTERM);
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return perror("waitpid"), 1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("FAIL child status 0x%x\n", st);
		return 1;
	}
	printf("done ok\n");
	return 0;
}
