/* dirty.c - the shim's half of dirty tracking (lib/dirty.h has the
 * tool's): a userfaultfd in write-protect async mode over the regions
 * a tool names, and the epoch, the image id its bits count from.
 *
 * With UFFD_FEATURE_WP_ASYNC the kernel resolves a write to a protected
 * page by itself (no message, no thread of ours involved) and clears
 * the page's protection; a tool's PAGEMAP_SCAN then lists the pages
 * without it and protects them again.  Kernel writes (read(2) into a
 * page) count too, even with UFFD_USER_MODE_ONLY (kernel/NOTES.md 2e).
 *
 * Runs while threads are frozen: rawsys.h calls and static storage
 * only.  No malloc, no stdio, no locks, no errno. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "kcompat.h"
#include "shim.h"
#include "rawsys.h"

static int uffd = -1;              /* ours, high and close-on-exec */
static uint64_t uffd_dev, uffd_ino;
static char epoch[32];             /* the image the bits count from */
static int have_epoch;
static int scanned;                /* a scan began in this freeze */
static char pending[32];           /* the image the last scan is for */
static int have_pending;

/* still our userfaultfd: the program may have closed the number
 * (closefrom) and reused it; then the kernel dropped every
 * registration with it and we start again */
static int uffd_alive(void)
{
	struct stat st;

	if (uffd < 0)
		return 0;
	if (sys_fstat(uffd, &st) < 0 || st.st_dev != uffd_dev || st.st_ino != uffd_ino)
		uffd = -1;
	return uffd >= 0;
}

/* ours, in async write-protect mode; 0 or -errno */
static int uffd_make(void)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	struct stat st;
	long fd, r;

	/* user-mode only: allowed unprivileged (vm.unprivileged_userfaultfd
	 * is 0), and async write-protect needs no more */
	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return fd;
	r = sys_ioctl(fd, UFFDIO_API, &api);
	if (r == 0)
		r = sys_fstat(fd, &st);
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	uffd = fd_high(fd);
	uffd_dev = st.st_dev;
	uffd_ino = st.st_ino;
	return 0;
}

int dirty_is_fd(int fd)
{
	return fd >= 0 && fd == uffd;
}

/* a freeze begins: no scan in it yet */
void dirty_freeze(void)
{
	scanned = 0;
}

/* 32 lowercase hex digits: an image id */
static int is_id(const char *id)
{
	int i;

	for (i = 0; i < 32; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* CKPT_OP_DIRTY: the epoch, forgotten from now on (the scan about to
 * run re-protects the pages: a checkpoint that fails after it leaves
 * bits that count from no image) */
void dirty_begin(struct ckpt_dirty_rec *rec, const char *id, long len)
{
	memset(rec, 0, sizeof *rec);
	if (have_epoch)
		memcpy(rec->epoch, epoch, sizeof epoch);
	rec->tracking = uffd_alive();
	have_epoch = 0;
	scanned = 1;
	have_pending = len == sizeof pending && is_id(id);
	if (have_pending)
		memcpy(pending, id, sizeof pending);
}

/* CKPT_OP_TRACK: register each range for write-protect, its result in
 * res[i]; 0, or -errno when there is no userfaultfd to do it with */
int dirty_track(const struct ckpt_range *r, int n, int32_t *res)
{
	struct uffdio_register reg;
	int i, e;

	if (!uffd_alive() && (e = uffd_make()) < 0)
		return e;
	for (i = 0; i < n; i++) {
		memset(&reg, 0, sizeof reg);
		reg.range.start = r[i].start;
		reg.range.len = r[i].len;
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		res[i] = sys_ioctl(uffd, UFFDIO_REGISTER, &reg);
	}
	return 0;
}

/* CKPT_OP_EPOCH: the image of the last scan is written whole.  The id
 * the scan named, even after the thaw (--cow): no other scan came
 * since, or it would have named its own; else only in the scan's
 * freeze (frozen: the caller holds it). */
int dirty_epoch(const char *id, long len, int frozen)
{
	if (len != sizeof epoch || !is_id(id))
		return -22; /* EINVAL */
	if (have_pending ? memcmp(id, pending, sizeof pending) != 0 : !(frozen && scanned))
		return -22;
	memcpy(epoch, id, sizeof epoch);
	have_epoch = 1;
	have_pending = 0;
	return 0;
}

/* After fork (child: the userfaultfd is the parent's, whose
 * registrations the kernel did not copy, so it goes) or a restore
 * (the number is not ours any more: a restore makes only the
 * program's fds; nothing is registered).  Tracking starts again at
 * the next checkpoint, a full one. */
void dirty_forget(int close_it)
{
	if (close_it && uffd_alive())
		sys_close(uffd);
	uffd = -1;
	have_epoch = scanned = have_pending = 0;
}
