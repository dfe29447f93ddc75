/* rst_state - per-process state a restore must bring back.
 *
 * usage: rst_state DIR
 *
 * Sets, then checks on every tick (10 ms) that it still reads back:
 * a SIGUSR2 handler (SA_SIGINFO|SA_ONSTACK|SA_RESTART) on an alternate
 * signal stack of its own, SIGHUP and SIGRTMIN+3 blocked, RLIMIT_NOFILE
 * soft 200, RLIMIT_CORE 1 MiB soft / 2 MiB hard, umask 027, cwd DIR, and
 * ITIMER_REAL every 100 ms (a SIGALRM handler counts).  Prints "pid N",
 * then "ready rst_state", then "tick N".  SIGUSR2: the handler notes
 * whether it ran on the alternate stack; the loop prints "usr2 count N
 * onstack 1" (0 would be a FAIL).  SIGUSR1: check that SIGALRM still
 * comes, print "verify ok alarms=N" and go on.  SIGTERM: "done ok",
 * exit 0.  A mismatch: "FAIL ..." and exit 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)
#define SA_WANT (SA_SIGINFO | SA_ONSTACK | SA_RESTART)

static volatile sig_atomic_t want_verify, want_exit, usr2, usr2_off, alarms;
static char *alt;
static char cwd[4096];

static void fail(const char *what)
{
	printf("FAIL %s\n", what);
	exit(1);
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	char here;

	(void)sig, (void)si, (void)uc;
	usr2++;
	if (&here < alt || &here >= alt + ALT_SIZE)
		usr2_off++;
}

static void on_alrm(int s) { (void)s; alarms++; }
static void on_usr1(int s) { (void)s; want_verify = 1; }
static void on_term(int s) { (void)s; want_exit = 1; }

static void set_mask(sigset_t *m)
{
	sigemptyset(m);
	sigaddset(m, SIGHUP);
	sigaddset(m, SIGRTMIN + 3);
}

static void setup_signals(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE };
	struct sigaction sa = { .sa_sigaction = on_usr2, .sa_flags = SA_WANT };
	sigset_t m;

	if (sigaltstack(&ss, NULL) < 0 || sigaction(SIGUSR2, &sa, NULL) < 0)
		perror("sigaltstack/sigaction"), exit(1);
	signal(SIGALRM, on_alrm);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	set_mask(&m);
	sigprocmask(SIG_BLOCK, &m, NULL);
}

static void setup_rest(const char *dir)
{
	struct rlimit nf, core = { 1 << 20, 2 << 20 };
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };

	getrlimit(RLIMIT_NOFILE, &nf);
	nf.rlim_cur = 200;
	if (setrlimit(RLIMIT_NOFILE, &nf) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		perror("setrlimit"), exit(1);
	umask(027);
	if (chdir(dir) < 0 || !getcwd(cwd, sizeof cwd))
		perror(dir), exit(1);
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		perror("setitimer"), exit(1);
}

static void check_signals(void)
{
	struct sigaction sa;
	stack_t ss;
	sigset_t now, want;

	if (sigaction(SIGUSR2, NULL, &sa) < 0 || sa.sa_sigaction != on_usr2 ||
	    (sa.sa_flags & SA_WANT) != SA_WANT)
		fail("sigaction SIGUSR2: not our handler or flags");
	if (sigaltstack(NULL, &ss) < 0 || ss.ss_sp != alt ||
	    ss.ss_size != ALT_SIZE || ss.ss_flags != 0)
		fail("sigaltstack: not ours");
	sigprocmask(SIG_SETMASK, NULL, &now);
	set_mask(&want);
	for (int s = 1; s < SIGRTMAX; s++)
		if (sigismember(&now, s) != sigismember(&want, s)) {
			printf("FAIL sigmask: signal %d\n", s);
			exit(1);
		}
}

static void check_rest(void)
{
	struct rlimit nf, core;
	struct itimerval it;
	char now[4096];
	mode_t m = umask(027);

	umask(m);
	if (m != 027)
		fail("umask");
	if (getrlimit(RLIMIT_NOFILE, &nf) < 0 || nf.rlim_cur != 200 ||
	    getrlimit(RLIMIT_CORE, &core) < 0 || core.rlim_cur != 1 << 20 ||
	    core.rlim_max != 2 << 20)
		fail("rlimits");
	if (!getcwd(now, sizeof now) || strcmp(now, cwd) != 0)
		fail("cwd");
	if (getitimer(ITIMER_REAL, &it) < 0 || it.it_interval.tv_sec != 0 ||
	    it.it_interval.tv_usec != 100000)
		fail("itimer");
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (want_exit || want_verify)
			return;
}

/* the alarms still come: at least one within 300 ms */
static void verify(void)
{
	int before = alarms;

	for (int i = 0; i < 30 && alarms == before; i++)
		sleep_ms(10);
	if (alarms == before)
		fail("no SIGALRM in 300 ms");
	printf("verify ok alarms=%d\n", (int)alarms);
}

int main(int argc, char **argv)
{
	int seen = 0;
	long ticks = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: rst_state DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		return perror("mmap"), 1;
	setup_signals();
	setup_rest(argv[1]);
	printf("pid %d\n", (int)getpid());
	printf("ready rst_state\n");
	for (;;) {
		check_signals();
		check_rest();
		if (usr2_off)
			fail("SIGUSR2 handler ran off the alternate stack");
		if (usr2 != seen) {
			seen = usr2;
			printf("usr2 count %d onstack 1\n", seen);
		}
		if (want_verify) {
			want_verify = 0;
			verify();
		}
		if (want_exit) {
			printf("done ok ticks=%ld\n", ticks);
			return 0;
		}
		printf("tick %ld\n", ++ticks);
		sleep_ms(10);
	}
}
