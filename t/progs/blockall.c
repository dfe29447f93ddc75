/* blockall - a thread no freeze signal reaches: the main thread, exited.
 *
 * usage: blockall mainexit
 *
 * The main thread exits (pthread_exit) while another thread runs on.
 * Prints "pid P", "ready blockall mainexit"; SIGUSR1: "verify ok";
 * SIGTERM: "done ok" and exit 0.  (Threads that block the freeze
 * signal: sigblockers.c.) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static void serve(void)
{
	for (;;) {
		wait_request();
		if (verified())
			exit(0);
	}
}

static void *second(void *arg)
{
	(void)arg;
	serve();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pthread_t th;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	printf("pid %d\n", (int)getpid());
	if (!strcmp(mode, "mainexit")) {
		if (pthread_create(&th, NULL, second, NULL)) {
			printf("FAIL pthread_create\n");
			return 1;
		}
		usleep(100000);
		printf("ready blockall mainexit\n");
		pthread_exit(NULL);
	}
	fprintf(stderr, "usage: blockall mainexit\n");
	return 2;
}
