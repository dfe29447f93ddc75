/* state.c - what the control thread hands out while the other threads
 * are frozen: the process record, /proc files, the open fds, pages,
 * the times of POSIX timers.
 *
 * Runs while threads are frozen: rawsys.h calls and static storage only.
 * No malloc, no stdio, no locks, no errno. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include "shim.h"
#include "rawsys.h"

void proc_record(struct ckpt_proc_rec *p)
{
	long r;
	int i;

	memset(p, 0, sizeof *p);
	p->version = CKPT_PROTO_VERSION;
	p->pid = sys_getpid();
	p->signal = ckpt_sig;
	p->ctl_tid = ckpt_ctl_tid;
	/* umask can only be read by setting it; nothing else runs now */
	p->umask = sys_umask(022);
	sys_umask(p->umask);
	p->dumpable = sys_prctl(3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0);
	p->personality = sys_personality(0xffffffff);
	sys_prctl(37 /* PR_GET_CHILD_SUBREAPER */, (uintptr_t)&i, 0, 0, 0);
	p->subreaper = i != 0;
	p->thp_disable = sys_prctl(42 /* PR_GET_THP_DISABLE */, 0, 0, 0, 0);
	p->nthreads = threads_count();
	p->brk = sys_brk(0);
	p->restart_entry = (uintptr_t)ckpt_restart_entry;
	p->ctl_stack = ckpt_ctl_stack;
	p->xcr0 = cpu_xcr0();
	for (i = 0; i < 16; i++)
		sys_prlimit(0, i, NULL, &p->rlimit[i]);
	for (i = 1; i <= 64; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sys_rt_sigaction(i, NULL, &p->sigaction[i - 1]);
	for (i = 0; i < 3; i++)
		sys_getitimer(i, &p->itimer[i]);
	if (sys_getcwd(p->cwd, sizeof p->cwd) < 0)
		p->cwd[0] = 0;
	r = sys_readlinkat(AT_FDCWD, "/proc/self/exe", p->exe, sizeof p->exe - 1);
	p->exe[r > 0 ? r : 0] = 0;
}

/* The times of the POSIX timers ids[0..n): what is left and the
 * interval, and the overrun.  0, or -errno of the first id that is no
 * timer of ours (a tool's list from /proc is older than the freeze only
 * if the program deleted a timer before it was frozen). */
int timers_record(const int32_t *ids, int n, struct ckpt_timer_rec *recs)
{
	long r;
	int i;

	for (i = 0; i < n; i++) {
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].id = ids[i];
		if ((r = sys_timer_gettime(ids[i], &recs[i].interval)) < 0 ||
		    (r = sys_timer_getoverrun(ids[i])) < 0)
			return r;
		recs[i].overrun = r;
	}
	return 0;
}

int proc_open_fds(int fds[CKPT_PROCFD_COUNT])
{
	static const char *const names[CKPT_PROCFD_COUNT] = {
		"/proc/self/mem", "/proc/self/pagemap", "/proc/self/maps",
		"/proc/self/stat", "/proc/self/auxv", "/proc/self/status",
	};
	int i, j;

	for (i = 0; i < CKPT_PROCFD_COUNT; i++) {
		fds[i] = sys_openat(AT_FDCWD, names[i], O_RDONLY | O_CLOEXEC, 0);
		if (fds[i] < 0) {
			int err = fds[i];

			for (j = 0; j < i; j++)
				sys_close(fds[j]);
			return err;
		}
	}
	return 0;
}

static int is_shim_fd(int fd, int dirfd)
{
	return fd == dirfd || fd == ckpt_listen_fd || fd == ckpt_conn_fd || dirty_is_fd(fd);
}

/* insert fd into the sorted list ents[0..*n) keeping the max smallest */
static void keep_smallest(struct ckpt_fd_ent *ents, int *n, int max, int fd, int *more)
{
	int i;

	if (*n == max) {
		*more = 1;
		if (fd > ents[max - 1].fd)
			return;
		(*n)--;
	}
	for (i = *n; i > 0 && ents[i - 1].fd > fd; i--)
		ents[i] = ents[i - 1];
	ents[i].fd = fd;
	(*n)++;
}

struct fd_pick {
	struct ckpt_fd_ent *ents;
	int from, max, n, more;
};

/* the listing comes in fd order: done once one more than max is seen */
static int fd_consider(int fd, int dirfd, void *arg)
{
	struct fd_pick *p = arg;

	if (fd >= p->from && !is_shim_fd(fd, dirfd))
		keep_smallest(p->ents, &p->n, p->max, fd, &p->more);
	return p->more;
}

/* the program's fds >= from, the smallest max of them, sorted */
int fds_list(int from, struct ckpt_fd_ent *ents, int max, int *more)
{
	struct fd_pick p = { ents, from, max, 0, 0 };
	int r = procdir_fds_from(from, fd_consider, &p), i;

	*more = p.more;
	if (r < 0)
		return r;
	for (i = 0; i < p.n; i++)
		ents[i].fdflags = sys_fcntl(ents[i].fd, F_GETFD, 0);
	return p.n;
}

/* vmsplice the ranges into the pipe, in order; bytes moved or -errno.
 * The pages stay the process's: the caller keeps it frozen until the
 * pipe's reader has taken them.  watch_fd >= 0 (the connection that
 * asked): never wait on a full pipe once it has hung up or sent
 * anything, -EPIPE then: its tool is gone, and so must the freeze (or
 * the snapshot) be, whoever still reads the pipe. */
long pages_splice(int pipe_fd, const struct ckpt_range *r, int n, int watch_fd)
{
	static struct iovec iov[1024];
	struct { int fd; short events, revents; } pfd[2] = {
		{ pipe_fd, 4 /* POLLOUT */, 0 }, { watch_fd, 1 /* POLLIN */, 0 } };
	unsigned fl = watch_fd >= 0 ? 2 /* SPLICE_F_NONBLOCK */ : 0;
	long total = 0, got;
	int i = 0, k, j;

	while (i < n) {
		for (k = 0; k < 1024 && i + k < n; k++) {
			iov[k].iov_base = (void *)(uintptr_t)r[i + k].start;
			iov[k].iov_len = r[i + k].len;
		}
		for (j = 0; j < k;) {
			got = sys_vmsplice(pipe_fd, iov + j, k - j, fl);
			if (got == -11 /* EAGAIN: a non-blocking pipe, or fl */) {
				sys_poll(pfd, watch_fd >= 0 ? 2 : 1, -1);
				if (pfd[1].revents)
					return -32; /* EPIPE */
				continue;
			}
			if (got == -4 /* EINTR */)
				continue;
			if (got <= 0)
				return got < 0 ? got : -5 /* EIO */;
			total += got;
			while (j < k && (size_t)got >= iov[j].iov_len)
				got -= iov[j++].iov_len;
			if (j < k) {
				iov[j].iov_base = (char *)iov[j].iov_base + got;
				iov[j].iov_len -= got;
			}
		}
		i += k;
	}
	return total;
}
