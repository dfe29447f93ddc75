/* blockall - threads no freeze signal reaches.
 *
 * usage: blockall timer|mainexit
 *
 * timer: a POSIX timer with SIGEV_THREAD (as Debian's vim makes): glibc
 * starts a helper thread that blocks every signal.  mainexit: the main
 * thread exits (pthread_exit) while another thread runs on.  Prints
 * "pid P", "ready blockall MODE"; SIGUSR1: "verify ok"; SIGTERM: "done
 * ok" and exit 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static void tick(union sigval v)
{
	(void)v;
}

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
	struct sigevent ev;
	timer_t t;
	pthread_t th;
	struct itimerspec its = { { 10, 0 }, { 10, 0 } };

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	printf("pid %d\n", (int)getpid());
	if (!strcmp(mode, "timer")) {
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_THREAD;
		ev.sigev_notify_function = tick;
		if (timer_create(CLOCK_MONOTONIC, &ev, &t) < 0 || timer_settime(t, 0, &its, NULL) < 0) {
			printf("FAIL timer_create\n");
			return 1;
		}
		printf("ready blockall timer\n");
		serve();
	}
	if (!strcmp(mode, "mainexit")) {
		if (pthread_create(&th, NULL, second, NULL)) {
			printf("FAIL pthread_create\n");
			return 1;
		}
		usleep(100000);
		printf("ready blockall mainexit\n");
		pthread_exit(NULL);
	}
	fprintf(stderr, "usage: blockall timer|mainexit\n");
	return 2;
}
