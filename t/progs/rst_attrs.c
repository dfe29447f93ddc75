/* rst_attrs - process attributes a restore must bring back.
 *
 * usage: rst_attrs [OOM [LOGINUID]]
 *
 * Sets oom_score_adj to OOM (default 300: raising it needs no
 * privilege), PR_SET_THP_DISABLE and PR_SET_CHILD_SUBREAPER, and
 * loginuid to LOGINUID if given (from unset that needs no privilege
 * either), else notes it as it is.  Prints "pid N", "loginuid N", then "ready
 * rst_attrs".  SIGUSR1: check all four read back as set (the kernel's
 * /proc/self files and prctl), print "verify ok"; SIGTERM: the same,
 * then "done ok", exit 0.  A mismatch: "FAIL WHAT: got X, want Y" and
 * exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "prog.h"

static long long oom_want, loginuid_want;

static long long self_number(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void check(const char *what, long long got, long long want)
{
	if (got == want)
		return;
	printf("FAIL %s: got %lld, want %lld\n", what, got, want);
	fflush(stdout);
	exit(1);
}

static void verify(void)
{
	int sub = -1;

	check("oom_score_adj", self_number("/proc/self/oom_score_adj"), oom_want);
	check("loginuid", self_number("/proc/self/loginuid"), loginuid_want);
	check("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
	if (prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) < 0)
		sub = -1;
	check("PR_GET_CHILD_SUBREAPER", sub, 1);
}

int main(int argc, char **argv)
{
	FILE *f;

	oom_want = argc > 1 ? atoll(argv[1]) : 300;
	signals_init();
	if (!(f = fopen("/proc/self/oom_score_adj", "w")) || fprintf(f, "%lld", oom_want) < 0 ||
	    fclose(f) != 0)
		perror("oom_score_adj"), exit(1);
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		perror("prctl"), exit(1);
	if (argc > 2 && (!(f = fopen("/proc/self/loginuid", "w")) || fprintf(f, "%s", argv[2]) < 0 ||
			 fclose(f) != 0))
		perror("loginuid"), exit(1);
	loginuid_want = self_number("/proc/self/loginuid");
	verify();
	printf("pid %d\nloginuid %lld\nready rst_attrs\n", (int)getpid(), loginuid_want);
	fflush(stdout);
	for (;;) {
		wait_request();
		verify();
		if (verified())
			return 0;
	}
}
