/* prog.h - what the test programs share: SIGUSR1 asks a program to
 * verify itself, SIGTERM to finish.  The handler only sets a flag that
 * the main loop reads, so it is safe wherever the signal lands. */
#ifndef CKPT_TEST_PROG_H
#define CKPT_TEST_PROG_H
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t want_verify, want_exit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_verify = 1;
	else
		want_exit = 1;
}

static void signals_init(void)
{
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
}

/* sleep until asked to verify or to finish */
static inline void wait_request(void)
{
	while (!want_verify && !want_exit)
		pause();
}

/* after a check that passed: say so; 1 when the program is to finish */
static inline int verified(void)
{
	printf(want_exit ? "done ok\n" : "verify ok\n");
	fflush(stdout);
	if (want_exit)
		return 1;
	want_verify = 0;
	return 0;
}

/* say "pid N" and "ready NAME", then check with verify (0 or -1 after
 * its FAIL line) at each request until asked to finish: the exit
 * status */
static inline int serve_verify(const char *name, int (*verify)(void))
{
	printf("pid %d\nready %s\n", (int)getpid(), name);
	fflush(stdout);
	signals_init();
	for (;;) {
		wait_request();
		if (verify() < 0)
			return 1;
		if (verified())
			return 0;
	}
}

/* bytes as one printable word: graphic ASCII as is, anything else
 * (and the backslash) as \xHH */
static inline void put_bytes(const char *b, ssize_t n)
{
	ssize_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		if (c > ' ' && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

#endif
