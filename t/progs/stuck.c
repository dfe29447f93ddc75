/* stuck - a thread that cannot answer a freeze for a while.
 *
 * usage: stuck SECS
 *
 * A ticker thread prints "tick N" every 10 ms.  The main thread prints
 * "ready stuck pid=P tid=T" and then calls vfork(): until the child
 * exits, SECS seconds later, the kernel holds the main thread where no
 * signal handler runs, so a freeze cannot stop it in time.  Then it
 * prints "vfork done" and idles.  SIGUSR1: check that the ticker still
 * ticks, print "verify ok ticks=N" and go on.  A freeze that times out
 * must leave every thread running, and the freeze signal, handled late
 * by the main thread once vfork returns, must not stop it either.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t ticks;
static volatile sig_atomic_t want_verify;

static void on_usr1(int sig)
{
	(void)sig;
	want_verify = 1;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		ticks++;
		printf("tick %" PRIu64 "\n", ticks);
		nap_ms(10);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: stuck SECS\n");
		return 2;
	}
	long secs = atol(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	pthread_t t;
	if (pthread_create(&t, NULL, ticker, NULL))
		return fprintf(stderr, "stuck: pthread_create failed\n"), 1;
	printf("pid %d\n", (int)getpid());
	printf("ready stuck pid=%d tid=%ld\n", (int)getpid(), (long)syscall(SYS_gettid));

	pid_t c = vfork();
	if (c == 0) {
		/* the vfork child: raw calls only, then _exit */
		struct timespec ts = { secs, 0 };
		syscall(SYS_nanosleep, &ts, NULL);
		_exit(0);
	}
	if (c < 0)
		return perror("vfork"), 1;
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	printf("vfork done\n");

	for (;;) {
		nap_ms(20);
		if (want_verify) {
			want_verify = 0;
			uint64_t t0 = ticks;
			for (int i = 0; i < 200 && ticks == t0; i++)
				nap_ms(10);
			if (ticks == t0) {
				printf("FAIL ticker stopped at %" PRIu64 "\n", t0);
				return 1;
			}
			printf("verify ok ticks=%" PRIu64 "\n", ticks);
		}
	}
}
