/* dropper - a daemon that started as root and dropped to a user with
 * setuid: the kernel made it not dumpable, and its /proc files root's.
 *
 * usage: dropper UID
 *
 * Takes UID as its real, effective and saved uid and gid (no
 * supplementary groups), checks that it is not dumpable
 * (PR_GET_DUMPABLE 0; started as UID already, it makes itself so with
 * PR_SET_DUMPABLE 0), keeps a secret in its memory, and prints
 * "pid N", "ready dropper".  SIGUSR1 or SIGTERM: check that the ids,
 * the dumpable flag and the secret are as they were: "verify ok" (or
 * "done ok"), else "FAIL ..." and exit 1.  Exit 2 on a bad usage.
 */
#include <grp.h>
#include <sys/prctl.h>

#include "prog.h"

static uid_t uid;
static char secret[64] = "dropper-secret";

static int verify(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	int d = prctl(PR_GET_DUMPABLE);

	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	if (r != uid || e != uid || s != uid || gr != uid || ge != uid || gs != uid)
		return printf("FAIL ids %u %u %u / %u %u %u, want %u\n", r, e, s, gr, ge, gs, uid), -1;
	if (d != 0)
		return printf("FAIL dumpable %d, want 0\n", d), -1;
	if (strcmp(secret, "dropper-secret"))
		return printf("FAIL secret changed\n"), -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !(uid = (uid_t)atoi(argv[1])))
		return fprintf(stderr, "usage: dropper UID\n"), 2;
	if (geteuid() == uid)
		prctl(PR_SET_DUMPABLE, 0);
	else if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return printf("FAIL cannot drop to uid %u: errno %d\n", uid, errno), 1;
	if (verify() < 0)
		return 1;
	return serve_verify("dropper", verify);
}
