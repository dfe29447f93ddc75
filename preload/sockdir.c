/* sockdir.c - the shim's socket directory, opened checked.
 *
 * Runs in the constructor, the fork child and the control thread, also
 * right after a restore, when every lock a frozen thread held is still
 * held: sys.h calls and static storage only.  No malloc, no stdio, no
 * opendir, no errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include "shim.h"
#include "sockdir.h"
#include "sys.h"

/* dir, opened with no symlink on the way, if it is ours and 0700
 * (lib/sockdir.h); an O_PATH fd, or -errno with *why saying what is
 * wrong (O_PATH: another uid's 0700 directory still opens, and is
 * refused for what it is) */
int sockdir_open(const char *dir, const char **why)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	struct stat st;
	int d = sys_openat2(AT_FDCWD, dir, &how, sizeof how);

	*why = 0;
	if (d == -ELOOP)
		*why = "a symlink on the way";
	if (d < 0)
		return d;
	if (sys_fstat(d, &st) < 0)
		*why = "cannot stat it";
	else
		*why = sockdir_fault(st.st_mode, st.st_uid, sys_geteuid());
	if (*why) {
		sys_close(d);
		return -EPERM;
	}
	return d;
}
