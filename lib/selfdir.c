/* selfdir.c - the directory this program was run from */
#include <errno.h>
#include <string.h>
#include <unistd.h>

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
