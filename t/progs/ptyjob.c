/* ptyjob - a job that owns a pseudo-terminal pair, as script(1), expect
 * and tmux do (t/pty.bats, issue 13).
 *
 * usage: ptyjob
 *
 * The parent opens a pair and sets it: echo off, VINTR ^B, a window of
 * 33x77 (5x7 pixels).  Its child C makes a session whose controlling
 * terminal is the slave (on C's fds 0-2), and a child G in a group of
 * its own, the terminal's foreground group.  C writes "from-slave\n"
 * (queued for the master as "from-slave\r\n"); then the parent types
 * "typed line\neof-line^Dpart" (queued for G: a line, a line VEOF
 * ended, and a partial one) and turns packet mode on.  Nobody reads
 * until asked.
 *
 * On SIGUSR1 (once: reading takes the bytes; SIGTERM's check is that
 * one) the parent checks and prints its side: "pty lock=0 pkt=1 echo=0
 * vintr=2 winsize=33x77x5x7 master=\x00from-slave\x0d\x0a"; asks G
 * (SIGUSR1), the foreground group, the one that may read, which checks
 * its session and terminal and reads its queue ("child sid=leader
 * ctty=leader fg=self in=typed\x20line\x0a then=eof-line more=none":
 * the partial line is not a line yet); and prints G's line.  SIGTERM
 * ends all three. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>

#include "prog.h"

static pid_t child, grandchild;
static int report[2];   /* C to the parent: its line */

static void bytes_word(char *out, size_t cap, const char *b, ssize_t n)
{
	size_t k = 0;
	ssize_t i;

	for (i = 0; i < n && k + 5 < cap; i++)
		k += snprintf(out + k, cap - k, b[i] > ' ' && b[i] < 127 && b[i] != '\\' ? "%c" : "\\x%02x",
			      (unsigned char)b[i]);
	out[k] = 0;
}

/* G's check, its line to the parent: G is in the foreground group,
 * the only one that may read the terminal */
static void grandchild_check(void)
{
	char buf[256], word[512], word2[512], line[1200];
	ssize_t n, n2, more;
	pid_t fg = tcgetpgrp(0), sid = 0;

	ioctl(0, TIOCGSID, &sid);
	fcntl(0, F_SETFL, O_RDWR | O_NONBLOCK);
	n = read(0, buf, sizeof buf);
	bytes_word(word, sizeof word, buf, n > 0 ? n : 0);
	n2 = read(0, buf, sizeof buf);   /* the line ^D ended */
	bytes_word(word2, sizeof word2, buf, n2 > 0 ? n2 : 0);
	more = read(0, buf, sizeof buf);
	snprintf(line, sizeof line, "child sid=%s ctty=%s fg=%s in=%s then=%s more=%s\n",
		 getsid(0) == getppid() ? "leader" : "other", sid == getppid() ? "leader" : "other",
		 fg == getpgrp() && fg == getpid() ? "self" : "other", word, word2,
		 more < 0 && errno == EAGAIN ? "none" : "some");
	if (write(report[1], line, strlen(line)) < 0)
		_exit(1);
}

static _Noreturn void grandchild_run(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	signals_init();
	for (;;) {
		wait_request();
		if (want_exit)
			_exit(0);
		want_verify = 0;
		grandchild_check();
	}
}

/* C: the session, its terminal, G, then nothing but waiting */
static _Noreturn void child_run(const char *slave, int ready)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setsid();
	int s = open(slave, O_RDWR);   /* a session leader's first: its terminal */

	if (s < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
		_exit(1);
	close(s);
	if ((grandchild = fork()) == 0)
		grandchild_run();
	setpgid(grandchild, grandchild);
	if (tcsetpgrp(0, grandchild) < 0 || write(1, "from-slave\n", 11) != 11 ||
	    write(ready, &grandchild, sizeof grandchild) != sizeof grandchild)
		_exit(1);
	close(ready);
	signals_init();
	wait_request();
	while (!want_exit)
		pause();
	kill(grandchild, SIGKILL);
	_exit(0);
}

static int master;

static int verify(void)
{
	char buf[256], word[512], line[1024];
	struct termios t;
	struct winsize w;
	int lock = -1, pkt = -1;
	struct pollfd p = { .fd = master, .events = POLLIN };
	ssize_t n = 0;
	static int checked;

	if (checked++)   /* the bytes were read: SIGTERM's check is the first's */
		return 0;
	ioctl(master, TIOCGPTLCK, &lock);
	ioctl(master, TIOCGPKT, &pkt);
	tcgetattr(master, &t);
	ioctl(master, TIOCGWINSZ, &w);
	if (poll(&p, 1, 1000) == 1)
		n = read(master, buf, sizeof buf);
	bytes_word(word, sizeof word, buf, n > 0 ? n : 0);
	printf("pty lock=%d pkt=%d echo=%d vintr=%d winsize=%ux%ux%ux%u master=%s\n", lock, pkt,
	       !!(t.c_lflag & ECHO), t.c_cc[VINTR], w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel,
	       word);
	kill(grandchild, SIGUSR1);
	n = read(report[0], line, sizeof line - 1);
	if (n <= 0)
		return printf("FAIL no word from the child\n"), -1;
	line[n] = 0;
	printf("%s", line);
	if (lock != 0 || pkt != 1 || strcmp(word, "\\x00from-slave\\x0d\\x0a") ||
	    strcmp(line, "child sid=leader ctty=leader fg=self in=typed\\x20line\\x0a then=eof-line more=none\n"))
		return printf("FAIL not as it was\n"), -1;
	return 0;
}

int main(void)
{
	struct winsize w = { 33, 77, 5, 7 };
	struct termios t;
	int ready[2], on = 1, r;

	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(master) < 0 ||
	    unlockpt(master) < 0 || tcgetattr(master, &t) < 0)
		return printf("FAIL openpt: %s\n", strerror(errno)), 1;
	t.c_lflag &= ~ECHO;
	t.c_cc[VINTR] = 2;
	if (tcsetattr(master, TCSANOW, &t) < 0 || ioctl(master, TIOCSWINSZ, &w) < 0 ||
	    pipe(ready) < 0 || pipe(report) < 0)
		return printf("FAIL set: %s\n", strerror(errno)), 1;
	fflush(stdout);
	if ((child = fork()) == 0) {
		char slave[64];

		snprintf(slave, sizeof slave, "%s", ptsname(master));
		close(master);
		close(ready[0]);
		child_run(slave, ready[1]);
	}
	close(ready[1]);
	if (read(ready[0], &grandchild, sizeof grandchild) != sizeof grandchild)
		return printf("FAIL the child did not start\n"), 1;
	close(ready[0]);
	if (write(master, "typed line\neof-line\004part", 24) != 24 || ioctl(master, TIOCPKT, &on) < 0)
		return printf("FAIL type: %s\n", strerror(errno)), 1;
	r = serve_verify("ptyjob", verify);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	return r;
}
