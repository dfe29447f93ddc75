/* sig63 - a program that uses the freeze signal itself.
 *
 * usage: sig63 wait|signalfd|block|handler [SIG]   (SIG: default 63)
 *
 * Every thread blocks SIG.  wait: a thread takes it with sigwaitinfo;
 * signalfd: a thread reads it from a signalfd; both print "got SIG
 * code C pid P" for each one taken.  block: SIG keeps its default
 * action (terminate), blocked.  handler: a handler of the program's
 * own counts it; SIGUSR1 unblocks SIG for a moment, so a SIG sent
 * meanwhile is handled then.  Prints "pid P" and "ready sig63 MODE".
 * SIGUSR1: "verify ok got=N handled=H"; SIGTERM: "done ok".  A
 * checkpoint must never show up as a SIG taken or handled. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "prog.h"

static int sig = 63;
static volatile int got, handled, unblocked;

static void say_got(int code, int pid)
{
	got++;
	printf("got %d code %d pid %d\n", sig, code, pid);
}

/* SIGUSR1 and SIGTERM are for the main thread's pause() */
static void main_only(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static void *waiter(void *arg)
{
	sigset_t set;
	siginfo_t si;

	(void)arg;
	main_only();
	sigemptyset(&set);
	sigaddset(&set, sig);
	for (;;) {
		if (sigwaitinfo(&set, &si) == sig)
			say_got(si.si_code, si.si_pid);
		else if (errno != EINTR)
			printf("FAIL sigwaitinfo: %s\n", strerror(errno));
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct signalfd_siginfo fi;
	sigset_t set;
	int fd;

	(void)arg;
	main_only();
	sigemptyset(&set);
	sigaddset(&set, sig);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		printf("FAIL signalfd: %s\n", strerror(errno));
		exit(1);
	}
	for (;;) {
		ssize_t n = read(fd, &fi, sizeof fi);

		if (n == sizeof fi)
			say_got(fi.ssi_code, fi.ssi_pid);
		else if (n < 0 && errno != EINTR)
			printf("FAIL read signalfd: %s\n", strerror(errno));
	}
	return NULL;
}

static void on_sig(int s)
{
	static const char fail[] = "FAIL handled while blocked\n";

	(void)s;
	if (!unblocked)
		write(1, fail, sizeof fail - 1);
	handled++;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	sigset_t set;
	pthread_t t;

	if (argc > 2)
		sig = atoi(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (!strcmp(mode, "handler"))
		signal(sig, on_sig);
	if ((!strcmp(mode, "wait") && pthread_create(&t, NULL, waiter, NULL)) ||
	    (!strcmp(mode, "signalfd") && pthread_create(&t, NULL, reader, NULL))) {
		printf("FAIL pthread_create\n");
		return 1;
	}
	if (strcmp(mode, "wait") && strcmp(mode, "signalfd") && strcmp(mode, "block") &&
	    strcmp(mode, "handler")) {
		fprintf(stderr, "usage: sig63 wait|signalfd|block|handler [SIG]\n");
		return 2;
	}
	printf("pid %d\nready sig63 %s\n", (int)getpid(), mode);
	for (;;) {
		wait_request();
		if (!strcmp(mode, "handler")) {
			unblocked = 1;
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			sigprocmask(SIG_BLOCK, &set, NULL);
			unblocked = 0;
		}
		printf("got=%d handled=%d\n", got, handled);
		if (verified())
			return 0;
	}
}
