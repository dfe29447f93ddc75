/* ttyown - a program in the foreground of the terminal it runs on, as
 * vim or less is (t/pty.bats, issue 13: the job's own terminal).
 *
 * usage: ttyown (on a terminal: t/progs/ptydrive.py gives it one)
 *
 * Sets its terminal as a full-screen program does: echo and ICANON
 * off, VMIN 1, a window of 30x100; counts SIGWINCH.  On SIGUSR1 it
 * prints what it finds: "term echo=0 icanon=0 fg=1 ctty=1 winch=N
 * rows=R cols=C"; it does not check the values itself (the test does:
 * a restore on another terminal gives another size). */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "prog.h"

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch++;
}

static int verify(void)
{
	struct termios t;
	struct winsize w = { 0 };
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

	if (tcgetattr(0, &t) < 0)
		return printf("FAIL tcgetattr: %s\n", strerror(errno)), -1;
	ioctl(0, TIOCGWINSZ, &w);
	printf("term echo=%d icanon=%d fg=%d ctty=%d winch=%d rows=%u cols=%u\n",
	       !!(t.c_lflag & ECHO), !!(t.c_lflag & ICANON), tcgetpgrp(0) == getpgrp(), fd >= 0,
	       (int)winch, w.ws_row, w.ws_col);
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(void)
{
	struct winsize w = { 30, 100, 0, 0 };
	struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };
	struct termios t;

	if (tcgetattr(0, &t) < 0)
		return printf("FAIL not on a terminal\n"), 1;
	t.c_lflag &= ~(ECHO | ICANON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	sigaction(SIGWINCH, &sa, NULL);
	if (tcsetattr(0, TCSANOW, &t) < 0 || ioctl(0, TIOCSWINSZ, &w) < 0)
		return printf("FAIL set the terminal: %s\n", strerror(errno)), 1;
	winch = 0;
	return serve_verify("ttyown", verify);
}
