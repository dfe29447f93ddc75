/* ckpt-run - run a program with the ckpt shim preloaded */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "selfdir.h"

static const char usage[] = "ckpt-run [--] PROG [ARG...] | ckpt-run --bats-helper";

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "bats-helper", no_argument, NULL, 'b' },
	{ NULL, 0, NULL, 0 },
};

/* --bats-helper: where the bats helper library is, for a test's
 * load "$(ckpt-run --bats-helper)": ../share/ckpt/ckpt.bash beside
 * this program, in the build tree and once installed (ckpt-bats(7)) */
static int bats_helper(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], real[PATH_MAX];
	int r = self_dir(dir, sizeof dir);

	if (r < 0)
		dieerr(r, "/proc/self/exe:");
	snprintf(path, sizeof path, "%s/../share/ckpt/ckpt.bash", dir);
	if (!realpath(path, real))
		die("bats helper %s:", path);
	printf("%s\n", real);
	return 0;
}

/* the tools find the socket through the program's environment; the
 * job's pid namespace is where its sockets have the short name
 * (lib/sockdir.h) */
static void sockdir_export(void)
{
	const char *env = getenv("CKPT_SOCKDIR"), *rt = getenv("XDG_RUNTIME_DIR");
	char dir[PATH_MAX], ns[24];
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) == 0) {
		snprintf(ns, sizeof ns, "%lu", (unsigned long)st.st_ino);
		if (setenv("CKPT_PIDNS", ns, 1) < 0)
			die("setenv:");
	}
	if (env && *env)
		return;
	if ((size_t)snprintf(dir, sizeof dir, "%s/ckpt-%u", rt && *rt ? rt : "/tmp",
			     (unsigned)geteuid()) >= sizeof dir)
		die("XDG_RUNTIME_DIR: too long");
	if (setenv("CKPT_SOCKDIR", dir, 1) < 0)
		die("setenv:");
}

static void preload_add(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;

	if (old && *old) {
		if (strstr(old, shim))
			return;
		if (asprintf(&v, "%s:%s", shim, old) < 0)
			die("asprintf:");
	} else {
		v = (char *)shim;
	}
	if (setenv("LD_PRELOAD", v, 1) < 0)
		die("setenv:");
}

int main(int argc, char **argv)
{
	char shim[PATH_MAX];
	int c;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		case 'b':
			return bats_helper();
		default:
			usage_die(usage);
		}
	}
	if (optind >= argc)
		usage_die(usage);
	shim_path(shim, sizeof shim);
	sockdir_export();
	preload_add(shim);
	execvp(argv[optind], argv + optind);
	die("%s:", argv[optind]);
}
