/* fdinfo.c - what one open fd is, from fstat, readlink and fdinfo of
 * our copy of it (formats/fds.md gives the fields) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "fdinfo.h"
#include "ptydump.h"
#include "io.h"
#include "pidused.h"
#include "inetdump.h"
#include "sockdump.h"

/* append printf output to d->extra, sized so that no kind's fields
 * can overflow it (fdinfo.h) */
__attribute__((format(printf, 2, 3)))
void extra_add(struct fd_desc *d, const char *fmt, ...)
{
	size_t n = strlen(d->extra);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->extra + n, sizeof d->extra - n, fmt, ap);
	va_end(ap);
}

/* the value after "key" at the start of a line of an fdinfo text */
static const char *info_field(const char *text, const char *key)
{
	size_t k = strlen(key);
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, k))
			return p + k;
	return NULL;
}

static unsigned long long info_num(const char *text, const char *key, int base)
{
	const char *v = info_field(text, key);

	return v ? strtoull(v, NULL, base) : 0;
}

/* "tfd: 5 events: 19 data: 1234 pos:0 ino:1a sdev:10" per target */
static char *epoll_lines(int fd, const char *info)
{
	const char *p = info;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unsigned long long data, ino;
	unsigned events;
	int tfd;

	if (!f)
		return NULL;
	while ((p = info_field(p, "tfd:"))) {
		if (sscanf(p, "%d events: %x data: %llx pos:%*d ino:%llx",
			   &tfd, &events, &data, &ino) == 4)
			fprintf(f, "epoll %d %d events=0x%x data=0x%llx ino=%llu\n",
				fd, tfd, events, data, ino);
	}
	fclose(f);
	return out;
}

/* "inotify wd:1 ino:3c51a sdev:fe00000 mask:100 ignored_mask:0
 *  fhandle-bytes:8 fhandle-type:1 f_handle:1ac5030000000000" */
static char *inotify_lines(int fd, const char *info)
{
	const char *p = info;
	char *out = NULL, handle[256];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unsigned wd, sdev, mask, ign, hbytes, htype;
	unsigned long long ino;

	if (!f)
		return NULL;
	/* a watch on an inode its file system cannot make a handle of (a
	 * pipe's, say) has no fhandle fields: written without fhandle= */
	while ((p = info_field(p, "inotify "))) {
		int n = sscanf(p, "wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%255s",
			       &wd, &ino, &sdev, &mask, &ign, &hbytes, &htype, handle);
		if (n < 5)
			continue;
		fprintf(f, "inotify %d wd=%u ino=%llu dev=%u:%u mask=0x%x ignored=0x%x", fd, wd,
			ino, sdev >> 20, sdev & 0xfffff, mask, ign);
		if (n == 8)
			fprintf(f, " fhandle=%u:%s", htype, handle);
		fputc('\n', f);
	}
	fclose(f);
	return out;
}

static void describe_timerfd(struct fd_desc *d, const char *info)
{
	unsigned long long vs = 0, vn = 0, is = 0, in = 0;
	const char *v = info_field(info, "it_value:"), *i = info_field(info, "it_interval:");
	struct timespec now;

	if (v)
		sscanf(v, " (%llu, %llu)", &vs, &vn);
	if (i)
		sscanf(i, " (%llu, %llu)", &is, &in);
	extra_add(d, " clock=%llu ticks=%llu tflags=0%llo value=%llu.%09llu interval=%llu.%09llu",
		  info_num(info, "clockid:", 10), info_num(info, "ticks:", 10),
		  info_num(info, "settime flags:", 8), vs, vn, is, in);
	/* a timer set to a time of its clock (TFD_TIMER_ABSTIME): that
	 * time, which a restore later keeps, where value would move it */
	if ((info_num(info, "settime flags:", 8) & TFD_TIMER_ABSTIME) && (vs || vn) &&
	    clock_gettime(info_num(info, "clockid:", 10), &now) == 0) {
		now.tv_sec += vs + (now.tv_nsec + vn) / 1000000000;
		now.tv_nsec = (now.tv_nsec + vn) % 1000000000;
		extra_add(d, " abs=%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
	}
}

/* A pid names a process only with its start time on one boot: read
 * while the process lives (the pidfd says so after; a pid cannot be
 * reused before its process ends), else start=0 */
static void describe_pidfd(struct fd_desc *d, const char *info)
{
	long long pid = info_num(info, "Pid:", 10);
	unsigned long long start = pid > 0 ? pid_starttime(pid) : 0;
	char *boot = read_file("/proc/sys/kernel/random/boot_id", NULL);

	if (start && syscall(SYS_pidfd_send_signal, d->local, 0, NULL, 0) < 0 && errno != EPERM)
		start = 0;
	extra_add(d, " pid=%lld start=%llu boot=%.36s", pid, start, boot ? boot : "-");
	free(boot);
}

/* the anon inode kinds, by the name readlink gives them */
static void describe_anon(struct fd_desc *d, const char *info)
{
	const char *name = d->path + strlen("anon_inode:");
	char esc[256];

	if (!strcmp(name, "[eventfd]")) {
		d->kind = FD_EVENTFD;
		extra_add(d, " count=%llu semaphore=%llu",
			  info_num(info, "eventfd-count:", 16),
			  info_num(info, "eventfd-semaphore:", 10));
	} else if (!strcmp(name, "[eventpoll]")) {
		d->kind = FD_EPOLL;
		d->sublines = epoll_lines(d->fd, info);
	} else if (!strcmp(name, "[timerfd]")) {
		d->kind = FD_TIMERFD;
		describe_timerfd(d, info);
	} else if (!strcmp(name, "[signalfd]")) {
		d->kind = FD_SIGNALFD;
		extra_add(d, " sigmask=0x%llx", info_num(info, "sigmask:", 16));
	} else if (!strcmp(name, "inotify")) {
		d->kind = FD_INOTIFY;
		d->sublines = inotify_lines(d->fd, info);
	} else if (!strcmp(name, "[pidfd]")) {
		d->kind = FD_PIDFD;
		describe_pidfd(d, info);
	} else {
		d->kind = FD_ANON;
		if (str_escape(name, esc, sizeof esc) == 0)
			extra_add(d, " name=%s", esc);
	}
}

/* The other end of the pipe is open nowhere (its last holder closed it,
 * or exited: a zombie's): poll says POLLHUP on a read end without
 * writers, POLLERR on a write end without readers.  A restore must not
 * keep that end open for the job (formats/fds.md). */
static int pipe_other_closed(int fd, int acc)
{
	struct pollfd p = { fd, acc == O_RDONLY ? POLLIN : POLLOUT, 0 };

	if (acc != O_RDONLY && acc != O_WRONLY)
		return 0;
	if (poll(&p, 1, 0) < 0)
		return 0;
	return acc == O_RDONLY ? !!(p.revents & POLLHUP) : !!(p.revents & POLLERR);
}

static void describe_pipe(struct fd_desc *d)
{
	static const char *const ends[] = { "r", "w", "rw", "rw" };
	int queued = 0, size = fcntl(d->local, F_GETPIPE_SZ);

	if (ioctl(d->local, FIONREAD, &queued) < 0)
		queued = 0;
	extra_add(d, " pipe=%llu end=%s pipesz=%d buffered=%d",
		  (unsigned long long)d->st.st_ino, ends[d->flags & O_ACCMODE],
		  size, queued);
	if (pipe_other_closed(d->local, d->flags & O_ACCMODE))
		extra_add(d, " other_closed=1");
}

static void describe_file(struct fd_desc *d)
{
	char esc[1024];
	int seals;

	extra_add(d, " size=%lld mtime=%lld.%09ld", (long long)d->st.st_size,
		  (long long)d->st.st_mtim.tv_sec, d->st.st_mtim.tv_nsec);
	if (d->kind != FD_MEMFD)
		return;
	/* readlink says "/memfd:NAME (deleted)" */
	if (str_escape(d->path + strlen("/memfd:"), esc, sizeof esc) == 0)
		extra_add(d, " name=%s", esc);
	seals = fcntl(d->local, F_GET_SEALS);
	extra_add(d, " seals=0x%x", seals < 0 ? 0 : seals);
}

static int fs_is(int fd, unsigned long magic)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

/* a namespace's type, from its name "TYPE:[INODE]" */
static void describe_ns(struct fd_desc *d)
{
	int n = strcspn(d->path, ":");

	if (n > 0 && n < 32)
		extra_add(d, " nstype=%.*s", n, d->path);
}

/* the kind from the inode type and the link's text; anon inodes first,
 * since their st_mode has changed between kernels */
static enum fd_kind kind_of(const struct fd_desc *d, int deleted)
{
	mode_t m = d->st.st_mode;

	if (!strncmp(d->path, "anon_inode:", 11))
		return FD_ANON;   /* refined by describe_anon */
	if (fs_is(d->local, NSFS_MAGIC))
		return FD_NS;     /* S_IFREG, and a name like "net:[4026531840]" */
	if (S_ISREG(m) && deleted && !strncmp(d->path, "/memfd:", 7))
		return FD_MEMFD;
	if (S_ISREG(m))
		return deleted ? FD_DELETED : FD_FILE;
	if (S_ISDIR(m))
		return FD_DIR;
	if (S_ISCHR(m))
		return pty_kind(d);
	if (S_ISBLK(m))
		return FD_BLK;
	if (S_ISFIFO(m))
		/* a FIFO unlinked since its opens is a pipe: no one can open
		 * it by name any more, and it is restored as one */
		return strncmp(d->path, "pipe:[", 6) && !deleted ? FD_FIFO : FD_PIPE;
	if (S_ISSOCK(m))
		return FD_SOCKET;
	if (S_ISLNK(m))
		return FD_SYMLINK;
	return FD_OTHER;
}

/* the path is not (or no longer) a name of the open inode */
static int path_gone(const struct fd_desc *d)
{
	struct stat st;

	return d->st.st_nlink == 0 || stat(d->path, &st) < 0 ||
	       st.st_dev != d->st.st_dev || st.st_ino != d->st.st_ino;
}

/* readlink of our copy.  The kernel appends " (deleted)" once the name
 * is unlinked; the inode may live on under another link (st_nlink > 0),
 * or a file may truly be called "x (deleted)": only a name that no
 * longer leads to the inode counts.  The suffix is then cut and
 * *deleted set. */
static int link_read(struct fd_desc *d, int *deleted)
{
	static const char tail[] = " (deleted)";
	size_t t = sizeof tail - 1, n;
	char proc[64];
	ssize_t r;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->local);
	r = readlink(proc, d->path, sizeof d->path - 1);
	if (r < 0)
		return -errno;
	d->path[r] = 0;
	n = r;
	*deleted = d->path[0] == '/' && n > t && !strcmp(d->path + n - t, tail) &&
		   path_gone(d);
	if (*deleted)
		d->path[n - t] = 0;
	return 0;
}

static void describe_kind(struct fd_desc *d, const char *info, int deleted)
{
	switch (d->kind) {
	case FD_FILE: case FD_DELETED: case FD_MEMFD:
		describe_file(d);
		break;
	case FD_DIR: case FD_SYMLINK:
		if (deleted)
			extra_add(d, " deleted=1");
		break;
	case FD_NS:
		describe_ns(d);
		break;
	case FD_CHR: case FD_BLK:
		extra_add(d, " rdev=%u:%u%s", major(d->st.st_rdev), minor(d->st.st_rdev),
			  deleted ? " deleted=1" : "");
		break;
	case FD_PTMX: case FD_PTS:
		pty_describe(d);
		break;
	case FD_FIFO: case FD_PIPE:
		describe_pipe(d);
		break;
	case FD_SOCKET: {
		int dom, type;

		sock_describe(d, &dom, &type);
		inet_describe(d, dom, type);
		break;
	}
	case FD_ANON:
		describe_anon(d, info);
		break;
	default:
		break;
	}
}

/* The mount of every socket: sockfs is mounted once, inside the
 * kernel, and all sockets are its inodes (one st_dev).  Its fdinfo is
 * read for the first socket only: with a readlink, an lseek and a
 * fstatfs it was half of what 2200 sockets cost (bench/sockets). */
static struct {
	dev_t dev;
	int mnt_id, known;
} sockfs;

/* d, a socket: what the kernel would say of it in its link, its fdinfo
 * ("socket:[INODE]", pos 0: a socket has no offset) */
static int describe_socket(struct fd_desc *d)
{
	char proc[64], *info;

	if (!sockfs.known || sockfs.dev != d->st.st_dev) {
		snprintf(proc, sizeof proc, "/proc/self/fdinfo/%d", d->local);
		if (!(info = read_file(proc, NULL)))
			return -errno;
		sockfs.dev = d->st.st_dev;
		sockfs.mnt_id = info_num(info, "mnt_id:", 10);
		sockfs.known = 1;
		free(info);
	}
	snprintf(d->path, sizeof d->path, "socket:[%llu]", (unsigned long long)d->st.st_ino);
	d->mnt_id = sockfs.mnt_id;
	d->kind = FD_SOCKET;
	describe_kind(d, NULL, 0);
	return 0;
}

int fd_describe(struct fd_desc *d, int fd, int local, int fdflags)
{
	char proc[64], *info;
	int deleted = 0, r;

	memset(d, 0, sizeof *d);
	d->fd = fd;
	d->local = local;
	d->pty = -1;
	d->cloexec = !!(fdflags & FD_CLOEXEC);
	if ((d->flags = fcntl(local, F_GETFL)) < 0 || fstat(local, &d->st) < 0)
		return -errno;
	if (S_ISSOCK(d->st.st_mode))
		return describe_socket(d);
	if ((r = link_read(d, &deleted)) < 0)
		return r;
	/* A periodic timerfd that expired unread counts one tick and shows
	 * no time left until its own read forwards it.  timerfd_gettime
	 * forwards it the same way (every missed period counted, the
	 * timer rearmed for the next): the program reads what it would
	 * have, and fdinfo shows the ticks and the time to the next expiry. */
	if (!strcmp(d->path, "anon_inode:[timerfd]")) {
		struct itimerspec its;
		timerfd_gettime(local, &its);
	}
	snprintf(proc, sizeof proc, "/proc/self/fdinfo/%d", local);
	if (!(info = read_file(proc, NULL)))
		return -errno;
	d->mnt_id = info_num(info, "mnt_id:", 10);
	/* the offset is the process's too: SEEK_CUR only reads it.  Pipes,
	 * sockets and O_PATH fds have none: fdinfo's pos (0) stands */
	d->pos = lseek(local, 0, SEEK_CUR);
	if (d->pos < 0)
		d->pos = info_num(info, "pos:", 10);
	d->kind = kind_of(d, deleted);
	describe_kind(d, info, deleted);
	free(info);
	return 0;
}

int fd_file_cmp(int a, int b)
{
	pid_t me = getpid();
	long r = syscall(SYS_kcmp, me, me, KCMP_FILE, a, b);

	/* kcmp: 0 equal, 1 less, 2 greater.  Without it (ENOSYS, EPERM)
	 * every fd is its own description: wrong only in sharing less */
	if (r == 0)
		return 0;
	if (r == 1 || r == 2)
		return r == 1 ? -1 : 1;
	return a < b ? -1 : a > b;
}

int fd_epoll_watches(int eplocal, int tfd, int toff, int local)
{
	struct kcmp_epoll_slot slot = { .efd = eplocal, .tfd = tfd, .toff = toff };
	pid_t me = getpid();

	long r;

	/* our copy of the epoll is the process's epoll: its registrations
	 * keep the process's fd numbers, which KCMP_EPOLL_TFD looks up */
	r = syscall(SYS_kcmp, me, me, KCMP_EPOLL_TFD, local, (unsigned long)&slot);
	return r == 0 ? 1 : r > 0 ? 0 : -errno;
}

char *file_holes(int fd, uint64_t size)
{
	char *out = NULL;
	size_t len = 0;
	off_t hole, data = 0;
	unsigned n = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	/* SEEK_HOLE finds the next hole (the end of the file counts as
	 * one), SEEK_DATA the data after it (ENXIO: none until the end) */
	while (n < FILE_HOLES_MAX && (hole = lseek(fd, data, SEEK_HOLE)) >= 0 &&
	       (uint64_t)hole < size) {
		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0 || (uint64_t)data > size)
			data = size;
		if (data > hole)
			fprintf(f, "%s%lld+%lld", n++ ? "," : "", (long long)hole,
				(long long)(data - hole));
	}
	if (fclose(f) != 0 || !len) {
		free(out);
		return NULL;
	}
	return out;
}

int fd_reader(const struct fd_desc *d)
{
	char proc[64];
	int fd;

	if (!(d->flags & O_PATH) && (d->flags & O_ACCMODE) != O_WRONLY)
		return d->local;
	/* a new description of the same inode: works for unlinked files */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->local);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

char *pipe_peek(int local, size_t *len, int *err)
{
	int queued = 0, size, p[2] = { -1, -1 };
	ssize_t n = 0;
	char *buf = NULL;

	*len = 0;
	*err = 0;
	if (ioctl(local, FIONREAD, &queued) < 0 || (size = fcntl(local, F_GETPIPE_SZ)) < 0) {
		*err = -errno;
		return NULL;
	}
	if (queued == 0)
		return NULL;
	/* tee copies from the head of the queue and cannot resume, so our
	 * pipe must hold all of it at once: one buffer per slot, as many
	 * slots as theirs (kernel/NOTES.md row 8) */
	if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETPIPE_SZ, size) < 0 ||
	    (n = tee(local, p[1], queued, SPLICE_F_NONBLOCK)) < 0) {
		*err = -errno;
	} else if (n < queued) {
		*err = -EAGAIN;
	} else if (!(buf = malloc(queued))) {
		*err = -ENOMEM;
	} else if ((n = read_all(p[0], buf, queued)) != queued) {
		*err = n < 0 ? (int)n : -EIO;
		free(buf);
		buf = NULL;
	}
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	*len = buf ? (size_t)queued : 0;
	return buf;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

/* "lock:\t1: POSIX  ADVISORY  WRITE 4849 fe:00:10952823 10 29" (the
 * kernel's /proc/locks form): class, mode, type, pid, dev:ino, start,
 * end or EOF */
static void lock_line(FILE *f, int fd, const char *p)
{
	char class[16], type[16], end[24];
	long long start;
	int pid;

	if (sscanf(p, "%*d: %15s %*s %15s %d %*s %lld %23s",
		   class, type, &pid, &start, end) != 5)
		return;
	lower(class);
	lower(type);
	lower(end);
	fprintf(f, "lock %d class=%s type=%s start=%lld end=%s pid=%d\n", fd,
		strcmp(class, "ofdlck") ? class : "ofd", type, start, end, pid);
}

int fd_locks(struct fd_desc *d, pid_t pid)
{
	char proc[64], *info, *out = NULL;
	const char *p;
	size_t len = 0;
	FILE *f;

	snprintf(proc, sizeof proc, "/proc/%d/fdinfo/%d", (int)pid, d->fd);
	if (!(info = read_file(proc, NULL)))
		return -errno;
	if (!info_field(info, "lock:")) {
		free(info);
		return 0;
	}
	if (!(f = open_memstream(&out, &len))) {
		free(info);
		return -ENOMEM;
	}
	if (d->sublines)
		fputs(d->sublines, f);
	for (p = info; (p = info_field(p, "lock:\t"));)
		lock_line(f, d->fd, p);
	fclose(f);
	free(info);
	free(d->sublines);
	d->sublines = out;
	return 0;
}
