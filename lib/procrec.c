/* procrec.c - a frozen process's record and its /proc files (procrec.h) */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "procrec.h"

static void fds_close(int *fds, int n)
{
	while (n > 0)
		close(fds[--n]);
}

/* the files the shim could not open, opened under k's /proc/PID */
static int procfds_open(const struct kproc *k, int fds[CKPT_PROCFD_COUNT])
{
	static const char *const names[CKPT_PROCFD_COUNT] = { "mem", "pagemap", "maps", "stat",
							      "auxv", "status" };
	int i;

	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		if ((fds[i] = openat(k->dirfd, names[i], O_RDONLY | O_CLOEXEC)) < 0) {
			if (errno == EACCES || errno == EPERM)
				warn("pid %d: not dumpable (it dropped from root, or runs a setuid or setcap program): only root may checkpoint it",
				     (int)k->pid);
			else
				warn("pid %d: /proc/%d/%s:", (int)k->pid, (int)k->pid, names[i]);
			fds_close(fds, i);
			return -1;
		}
	return 0;
}

/* The kernel makes /proc/PID root's while a process is not dumpable
 * (task_dump_owner): for a process whose euid is not root, that owner
 * is the dumpable flag as the kernel keeps it.  A root process's
 * files are root's either way: its shim's word stands. */
static void dumpable_check(const struct kproc *k, struct ckpt_proc_rec *rec)
{
	struct kcreds c;
	struct stat st;

	/* a lookup: the kernel sets the owner afresh (pid_revalidate) */
	if (fstatat(k->dirfd, "mem", &st, 0) < 0 || kcreds_read(k, k->pid, &c) < 0 || c.uid[1] == 0)
		return;
	rec->dumpable = st.st_uid == c.uid[1] ? 1 : 0;
}

int procrec_fetch(int sock, const struct kproc *k, struct ckpt_proc_rec *rec,
		  int fds[CKPT_PROCFD_COUNT])
{
	struct ctl_call c = { .op = CKPT_OP_PROC, .reply = rec, .replen = sizeof *rec,
			      .rfds = fds, .nrfds = CKPT_PROCFD_COUNT };
	int r = ctl_call(sock, &c);

	if (r == -EACCES && c.nrfds == 0 && c.replen == sizeof *rec) {
		if (procfds_open(k, fds) < 0)
			return -1;
	} else if (r < 0 || c.replen != sizeof *rec || c.nrfds != CKPT_PROCFD_COUNT) {
		fds_close(fds, c.nrfds);
		if (r == -EACCES)
			warn("pid %d: the process may not open its own memory (not dumpable: setuid, setcap or PR_SET_DUMPABLE 0)",
			     (int)k->pid);
		else
			warnerr(r ? r : -EPROTO, "pid %d: process record:", (int)k->pid);
		return -1;
	}
	dumpable_check(k, rec);
	return 0;
}
