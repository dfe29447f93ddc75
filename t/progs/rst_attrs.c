/* rst_attrs - process attributes a restore must bring back.
 *
 * usage: rst_attrs [OOM [LOGINUID [THP]]]
 *
 * Sets oom_score_adj to OOM (default 300: raising it needs no
 * privilege), PR_SET_THP_DISABLE and PR_SET_CHILD_SUBREAPER, and
 * loginuid to LOGINUID if given and not "-" (from unset that needs no
 * privilege either), else notes it as it is.  THP 3: THP disabled
 * except where advised (PR_THP_DISABLE_EXCEPT_ADVISED); default 1.  Prints "pid N", "loginuid N", then "ready
 * rst_attrs".  SIGUSR1: check all four read back as set (the kernel's
 * /proc/self files and prctl), print "verify ok"; SIGTERM: the same,
 * then "done ok", exit 0.  A mismatch: "FAIL WHAT: got X, want Y" and
 * exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "prog.h"

static long long oom_want, loginuid_want, thp_want = 1;

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
	check("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), thp_want);
	if (prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) < 0)
		sub = -1;
	check("PR_GET_CHILD_SUBREAPER", sub, 1);
}

int main(int argc, char **argv)
{
	FILE *f;

	oom_want = argc > 1 ? atoll(argv[1]) : 300;
	thp_want = argc > 3 ? atoll(argv[3]) : 1;
	signals_init();
	if (!(f = fopen("/proc/self/oom_score_adj", "w")) || fprintf(f, "%lld", oom_want) < 0 ||
	    fclose(f) != 0)
		perror("oom_score_adj"), exit(1);
	if (prctl(PR_SET_THP_DISABLE, thp_want & 1, thp_want & 2, 0, 0) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		perror("prctl"), exit(1);
	if (argc > 2 && strcmp(argv[2], "-") && (!(f = fopen("/proc/self/loginuid", "w")) || fprintf(f, "%s", argv[2]) < 0 ||
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
