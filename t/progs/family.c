/* family - a parent and the child it forks, each counting.
 *
 * usage: family [MIB]
 *
 * MIB: first, MIB MiB of anonymous memory never touched (no page of it
 * in an image), "big 0xADDR" (t/layout.bats makes a restore lock it).
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
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"


int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	if (argc > 1) {
		size_t len = (size_t)atol(argv[1]) << 20;
		void *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (!len || big == MAP_FAILED)
			return fprintf(stderr, "usage: family [MIB]\n"), 2;
		printf("big %p\n", big);
	}
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return perror("fork"), 1;
	if (c == 0) {
		count_ticks("child");
		return 0;
	}
	printf("pid %d\nchild %d\n", (int)getpid(), (int)c);
	printf("ready family pid=%d child=%d\n", (int)getpid(), (int)c);
	count_ticks("parent");
	if (stop_child(c) < 0)
		return 1;
	printf("done ok\n");
	return 0;
}
