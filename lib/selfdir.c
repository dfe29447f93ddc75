/* selfdir.c - the directory this program was run from */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "selfdir.h"

int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	return 0;
}

void shim_path(char *buf, size_t len)
{
	const char *env = getenv("CKPT_SHIM");
	char dir[PATH_MAX];
	int r;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
	} else {
		r = self_dir(dir, sizeof dir);
		if (r < 0)
			dieerr(r, "/proc/self/exe:");
		if ((size_t)snprintf(buf, len, "%s/../lib/ckpt/libckpt.so", dir) >= len)
			die("shim path: too long");
	}
	if (access(buf, R_OK) < 0)
		die("shim %s:", buf);
}
