/* prog.h - what the test programs share: SIGUSR1 asks a program to
 * verify itself, SIGTERM to finish.  The handler only sets a flag that
 * the main loop reads, so it is safe wherever the signal lands. */
#ifndef CKPT_TEST_PROG_H
#define CKPT_TEST_PROG_H
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
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

/* in a thread other than the main one: leave SIGUSR1 and SIGTERM to
 * the main thread's pause() (a handler run here would not wake it) */
static inline void requests_to_main(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

/* argv[1], the one operand, a directory the program works in; else
 * the usage line ("NAME DIR") and exit 2 */
static inline const char *dir_arg(int argc, char **argv, const char *usage)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	return argv[1];
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

/* sleep ms milliseconds, cut short by a request to verify or finish;
 * the freeze signal interrupts nanosleep (EINTR even with SA_RESTART),
 * so the sleep goes on with what remains */
static inline void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (want_verify || want_exit)
			return;
}

/* "WHO tick N" every 10 ms until asked to finish, "verify ok WHO
 * ticks=N" at each request to verify; the ticks */
static inline uint64_t count_ticks(const char *who)
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

/* pass SIGTERM to child c and reap it: 0 when it exited 0, else -1
 * after a FAIL line */
static inline int stop_child(pid_t c)
{
	int st;

	kill(c, SIGTERM);
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return printf("FAIL waitpid %d: errno %d\n", (int)c, errno), -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return printf("FAIL child status 0x%x\n", st), -1;
	return 0;
}

/* message k from who (sockpair, uxecho): its bytes (1 to 400 of them) into b, the length */
static inline size_t msg_make(char *b, char from, unsigned k)
{
	size_t n = 1 + (k * 37 + (from == 'p' ? 11 : 0)) % 400, i;

	for (i = 0; i < n; i++)
		b[i] = (char)(from + k + i * 7);
	if (n >= 12)
		snprintf(b, 12, "%c%010u", from, k);
	return n;
}

/* a and suffix as a unix address (uxecho, uxdgram): a path, or @NAME (abstract: a
 * NUL, then the name) */
static inline socklen_t sun_set(struct sockaddr_un *to, const char *a, const char *suffix)
{
	char name[sizeof to->sun_path];
	size_t n = (size_t)snprintf(name, sizeof name, "%s%s", a, suffix);

	to->sun_family = AF_UNIX;
	if (name[0] == '@') {
		memcpy(to->sun_path + 1, name + 1, n - 1);
		return offsetof(struct sockaddr_un, sun_path) + n;
	}
	memcpy(to->sun_path, name, n);
	return offsetof(struct sockaddr_un, sun_path) + n + 1;
}

/* n bytes from socket fd, whole: 0, or -1 (its end, or an error) */
static inline int recv_full(int fd, char *b, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		if ((r = recv(fd, b + off, n - off, 0)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		off += r;
	}
	return 0;
}

/* A child's side of rounds (sockpair, uxecho): at each request one
 * round (0, or -1 after its FAIL line), then a byte on done for the
 * parent; the round of SIGTERM is the last.  The exit status. */
static inline int rounds_child(int (*round)(void *, unsigned), void *arg, int done)
{
	unsigned r = 0;

	for (;;) {
		wait_request();
		if (round(arg, ++r) < 0)
			return 1;
		if (want_exit)
			return 0;
		want_verify = 0;
		if (write(done, "r", 1) != 1)
			return 1;
	}
}

/* The parent's: each request passed on to child c, a round of its own,
 * the child's byte on done awaited, "verify ok"; SIGTERM: the last
 * round, the child reaped, "done ok".  The exit status. */
static inline int rounds_parent(int (*round)(void *, unsigned), void *arg, pid_t c, int done)
{
	unsigned r = 0;
	char b;

	for (;;) {
		wait_request();
		kill(c, want_exit ? SIGTERM : SIGUSR1);
		if (round(arg, ++r) < 0)
			return 1;
		if (want_exit)
			return stop_child(c) < 0 ? 1 : (printf("done ok\n"), 0);
		while (read(done, &b, 1) < 0 && errno == EINTR)
			;
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
