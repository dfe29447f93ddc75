/* procstate.c - what /proc shows of a job's processes, recorded before a
 * checkpoint and compared after the restore: the test suite's state
 * check (t/thaw.bash, state_*).  Not a program ckpt runs: a witness.
 *
 * usage: procstate record OUT PID...         the running processes
 *        procstate record OUT -t ROOT         ROOT and its descendants
 *        procstate tee [-s] OUT ROOT [RUN]    stdin to stdout; at its first
 *                                             byte (the job is frozen) ROOT
 *                                             and its descendants (-s: ROOT
 *                                             alone) into OUT, with the
 *                                             threads' SigBlk from RUN
 *        procstate after BEFORE AFTER THAWPID SECS
 *                                             wait for BEFORE's processes to
 *                                             be restored, record them into
 *                                             AFTER, print each difference
 *        procstate diff BEFORE AFTER
 * Exit: 0 the same, 1 a difference (each printed), 2 usage, 3 nothing
 * to compare (the restore did not come, or ckpt-thaw ended first).
 *
 * A record is lines "PID what...<TAB>value".  What legitimately differs
 * between the frozen original and the restored process that runs is
 * left out where it is read, each with the reason; everything else must
 * be equal. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockdir.h"   /* the shim's socket names */

#define MAXL 8192

static FILE *out;
static pid_t cur;   /* the process being recorded */

static void put(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "%d %s\t", (int)cur, what);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static char *chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "KEY: VALUE" split at its first colon: 1, *val after it; 0 if none */
static int colon_split(char *line, char **val)
{
	char *c = strchr(line, ':');

	if (!c)
		return 0;
	*c = 0;
	*val = c + 1;
	return 1;
}

/* a whole small /proc file, NULs as spaces; NULL when unreadable */
static char *slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	for (ssize_t i = 0; i < got; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[got] = 0;
	return chomp(buf);
}

static void put_file(const char *what, const char *fmt, pid_t pid)
{
	char path[128], buf[MAXL], *v;

	snprintf(path, sizeof path, fmt, (int)pid);
	if ((v = slurp(path, buf, sizeof buf)))
		put(what, "%s", v);
}

static void put_link(const char *what, const char *fmt, pid_t pid)
{
	char path[128], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof path, fmt, (int)pid);
	if ((n = readlink(path, buf, sizeof buf - 1)) >= 0) {
		buf[n] = 0;
		put(what, "%s", buf);
	}
}

/* A hash, for what is long and only has to be the same (environ, auxv) */
static unsigned long long fnv(const char *path)
{
	unsigned long long h = 1469598103934665603ULL;
	unsigned char b[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, b, sizeof b)) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ b[i]) * 1099511628211ULL;
	close(fd);
	return h;
}

/* --- objects: an inode is named by what first showed it in this
 * record ("pid P fd N", "pid P map ADDR"), so a re-made pipe (a new
 * inode) compares equal, which fds and mappings share an object is
 * compared instead, and one difference does not rename every object
 * after it --- */

static struct { dev_t dev; ino_t ino; char by[48]; } obj[8192];
static unsigned nobj;

static const char *obj_label(dev_t dev, ino_t ino, const char *by)
{
	unsigned i;

	for (i = 0; i < nobj; i++)
		if (obj[i].dev == dev && obj[i].ino == ino)
			return obj[i].by;
	if (nobj == sizeof obj / sizeof obj[0])
		return "?";
	obj[nobj].dev = dev;
	obj[nobj].ino = ino;
	snprintf(obj[nobj].by, sizeof obj[nobj].by, "pid %d %s", (int)cur, by);
	return obj[nobj++].by;
}

/* --- the status file: which fields are state --- */

/* fields of a thread's status that are the thread's own state */
static const char *const thread_fields[] = {
	"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
	"NoNewPrivs", "Seccomp", "Seccomp_filters",
	"Cpus_allowed_list", "Speculation_Store_Bypass", "SpeculationIndirectBranch",
	NULL,
};
/* and of the process (shared by its threads) */
static const char *const proc_fields[] = {
	"Umask", "SigIgn", "SigCgt", "THP_enabled", "Threads", "untag_mask",
	"Mems_allowed_list", "NStgid", "NSpid", "NSpgid", "NSsid", "CoreDumping", NULL,
};
/* Not compared: State, the Vm* and Rss* sizes (the restore maps what
 * the process had, but the kernel counts pages as they come back),
 * voluntary/nonvoluntary_ctxt_switches, SigQ (the user's count of
 * queued signals, all processes'), TracerPid, FDSize (the table's
 * room, which grows in steps as fds are made: not a property of any
 * fd), PPid (in stat below). */

static int in(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (!strcmp(*list, k))
			return 1;
	return 0;
}

/* frozen: the job is frozen by ckpt-freeze; every thread then runs
 * the shim's freeze handler, which blocks every signal, so SigBlk is
 * the handler's, not the program's, and a signal that comes meanwhile
 * (a timer's) waits in SigPnd/ShdPnd until the job runs again: these
 * three are recorded from the running process instead (the tee's RUN,
 * a moment before the freeze) */
static int frozen;

/* A pending signal that its thread does not block is on its way in,
 * not state: a periodic timer's is pending for a moment at each
 * expiry.  So SigPnd is recorded as what is pending and blocked, and
 * ShdPnd (the process's) as what is pending and blocked by every
 * thread (proc_record). */
static unsigned long long blk_all, shd_pnd;

static void status_record(pid_t pid, pid_t tid, int main_thread)
{
	char path[128], line[MAXL], what[160];
	unsigned long long pnd = 0, blk = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		char *c;

		if (!colon_split(line, &c))
			continue;
		if (!strcmp(line, "SigPnd") || !strcmp(line, "ShdPnd") || !strcmp(line, "SigBlk")) {
			unsigned long long v = strtoull(c, NULL, 16);

			*(line[1] == 'h' ? &shd_pnd : line[3] == 'P' ? &pnd : &blk) = v;
			if (line[1] == 'h' && !main_thread)
				shd_pnd = 0;
			continue;
		}
		if (in(thread_fields, line)) {
			snprintf(what, sizeof what, "task %d %.100s", (int)tid, line);
			put(what, "%s", chomp(c));
		} else if (main_thread && in(proc_fields, line)) {
			put(line, "%s", chomp(c));
		}
	}
	if (!f)
		return;
	fclose(f);
	blk_all &= blk;
	if (frozen)
		return;
	snprintf(what, sizeof what, "task %d SigBlk", (int)tid);
	put(what, "%016llx", blk);
	snprintf(what, sizeof what, "task %d SigPnd", (int)tid);
	put(what, "%016llx", pnd & blk);
}

/* /proc/PID/task/TID/stat, the fields after the comm: field n of
 * proc(5) is f[n - 3] */
static int stat_fields(pid_t pid, pid_t tid, char **f, int max, char *buf, size_t len)
{
	char path[128], *s, *p;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (!slurp(path, buf, len) || !(s = strrchr(buf, ')')))
		return 0;
	for (p = strtok(s + 1, " "); p && n < max; p = strtok(NULL, " "))
		f[n++] = p;
	return n;
}

static void thread_record(pid_t pid, pid_t tid)
{
	char buf[MAXL], what[160], path[128], *f[64];
	int n = stat_fields(pid, tid, f, 64, buf, sizeof buf);

	snprintf(what, sizeof what, "task %d comm", (int)tid);
	snprintf(path, sizeof path, "/proc/%%d/task/%d/comm", (int)tid);
	put_file(what, path, pid);
	if (n > 41 - 3) {
		snprintf(what, sizeof what, "task %d nice rt_priority policy", (int)tid);
		put(what, "%s %s %s", f[19 - 3], f[40 - 3], f[41 - 3]);
	}
	status_record(pid, tid, tid == pid);
}

static int num_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* the numeric entries of a /proc directory, sorted; how many */
static int dir_nums(const char *path, long *v, int max)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max)
		if (isdigit((unsigned char)e->d_name[0]))
			v[n++] = strtol(e->d_name, NULL, 10);
	closedir(d);
	qsort(v, n, sizeof *v, num_cmp);
	return n;
}

/* a controlling terminal's number; a pseudo-terminal's as "pts": a
 * restored pair's index may be another (formats/fds.md, "Terminals") */
static const char *tty_name(const char *nr)
{
	unsigned long v = strtoul(nr, NULL, 10);

	return (v >> 8 & 0xfff) >= 136 && (v >> 8 & 0xfff) <= 143 ? "pts" : nr;
}

/* the mm fields (PR_SET_MM_MAP sets them) and the process's ids */
static void stat_record(pid_t pid)
{
	char buf[MAXL], *f[64];
	int n = stat_fields(pid, pid, f, 64, buf, sizeof buf);

	if (n <= 52 - 3)
		return;
	put("ppid", "%s", f[4 - 3]);
	put("pgrp session tty tpgid", "%s %s %s %s", f[5 - 3], f[6 - 3], tty_name(f[7 - 3]), f[8 - 3]);
	put("exit_signal", "%s", f[38 - 3]);
	put("code start end", "%s %s", f[26 - 3], f[27 - 3]);
	put("stack start", "%s", f[28 - 3]);
	put("data start end, brk start", "%s %s %s", f[45 - 3], f[46 - 3], f[47 - 3]);
	put("args start end", "%s %s", f[48 - 3], f[49 - 3]);
	put("env start end", "%s %s", f[50 - 3], f[51 - 3]);
}

/* --- fds --- */

/* a regular file open for writing whose offset is its end: a log the
 * program appends to; it runs on after the restore (and ran before the
 * freeze, for the running record), so its offset moves with its size:
 * "N end", and that it is at the end is what must stay true (or N: the
 * file grew under it since, by another writer; same_value).  Read again when pos and size disagree
 * for a moment (a write in progress). */
static void pos_put(const char *what, const char *pos, const char *fdpath, int flags,
		    const struct stat *st)
{
	struct stat now = *st;
	int tries;

	if (!S_ISREG(st->st_mode) || !(flags & (O_WRONLY | O_RDWR))) {
		put(what, "%s", pos);
		return;
	}
	/* O_APPEND: every write goes to the end whatever the offset, and
	 * the offset moves only when the fd writes, so an fd the program
	 * opens anew (a shell's >>) is at 0 until its first write */
	if (flags & O_APPEND) {
		put(what, "append");
		return;
	}
	for (tries = 0; tries < 3; tries++) {
		if ((long long)now.st_size == atoll(pos)) {
			put(what, "%s end", pos);
			return;
		}
		if (stat(fdpath, &now) < 0)
			break;
	}
	put(what, "%s", pos);
}


/* one fdinfo line, or why it is left out */
/* s with each run of blanks made one space, in place */
static char *squeeze(char *s)
{
	char *r = s, *w = s;

	for (; *r; r++)
		if (!(*r == ' ' || *r == '\t') || (w > s && w[-1] != ' '))
			*w++ = *r == '\t' ? ' ' : *r;
	*w = 0;
	return s;
}

static void fdinfo_line(int fd, char *line, const char *fdpath, const struct stat *st, int flags)
{
	char what[200], *c = strchr(line, ':'), *v;

	if (!c)
		return;
	*c = 0;
	v = chomp(c + 1);
	snprintf(what, sizeof what, "fd %d %.150s", fd, line);
	/* ino: the inode's number, compared as the fd's object label;
	 * eventfd-id: a number the kernel hands out (an ida) */
	if (!strcmp(line, "ino") || !strcmp(line, "eventfd-id") || !strcmp(line, "flags"))
		return;
	/* a pty master's index: the restored pair's may be another */
	if (!strcmp(line, "tty-index"))
		return;
	/* a timerfd's time left and its expirations so far: they move
	 * with the clock, while the program runs (its setting: clockid,
	 * it_interval, settime flags) */
	if (!strcmp(line, "it_value") || !strcmp(line, "ticks"))
		return;
	if (!strcmp(line, "pos")) {
		pos_put(what, v, fdpath, flags, st);
		return;
	}
	/* an epoll watch: its target's inode and device left out (its
	 * fd number says which), keyed by its order */
	if (!strcmp(line, "tfd")) {
		char *ino = strstr(v, " ino:");

		if (ino)
			*ino = 0;
		/* the kernel lists them in the order of its tree (by file
		 * address: another after a restore): a set, keyed by itself */
		snprintf(what, sizeof what, "fd %d watch tfd %s", fd, squeeze(chomp(v)));
		put(what, "%s", "registered");
		return;
	}
	/* a lock: "N: CLASS MODE TYPE PID MAJ:MIN:INO START END"; the
	 * inode is the fd's (compared as its object): a file the restore
	 * writes back is a new inode, by design (doc/design.md, Trust) */
	if (!strcmp(line, "lock")) {
		char *f[10], *p;
		int n = 0;

		for (p = strtok(v, " \t"); p && n < 10; p = strtok(NULL, " \t"))
			f[n++] = p;
		if (n == 8) {
			put(what, "%s %s %s %s pid %s range %s %s", f[0], f[1], f[2], f[3], f[4],
			    f[6], f[7]);
			return;
		}
	}
	put(what, "%s", v);
}

static void fdinfo_record(pid_t pid, int fd, const char *fdpath, const struct stat *st)
{
	char path[128], line[MAXL], what[64];
	int flags = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "flags:", 6))
			flags = (int)strtol(line + 6, NULL, 8);
	snprintf(what, sizeof what, "fd %d flags", fd);
	put(what, "0%o", flags);
	rewind(f);
	while (fgets(line, sizeof line, f))
		fdinfo_line(fd, line, fdpath, st, flags);
	fclose(f);
}

/* which fd (of this record) shares this fd's open file description:
 * kcmp, the kernel's own answer (root, or the same uid) */
static struct { pid_t pid; int fd; const char *obj; } seen_fd[4096];
static unsigned nseen;

static void desc_record(pid_t pid, int fd, const char *label)
{
	char what[64];
	unsigned i;

	snprintf(what, sizeof what, "fd %d description", fd);
	for (i = 0; i < nseen; i++)
		if (!strcmp(seen_fd[i].obj, label) &&
		    syscall(SYS_kcmp, seen_fd[i].pid, pid, 0 /* KCMP_FILE */, seen_fd[i].fd, fd) == 0) {
			put(what, "that of pid %d fd %d", (int)seen_fd[i].pid, seen_fd[i].fd);
			return;
		}
	if (nseen < sizeof seen_fd / sizeof seen_fd[0])
		seen_fd[nseen++] = (typeof(seen_fd[0])){ pid, fd, label };
	put(what, "its own");
}

/* What a restore makes of shared memory between processes, and of a
 * deleted file kept open, is a memfd named after the old path without
 * its first slash (formats/memory.md, "ckpt/shm"): "/memfd:dev/zero
 * (deleted)" for "/dev/zero (deleted)".  A memfd a program names with
 * a slash in it would be taken for one: none of ours does. */
static void unmemfd(char *path, size_t len)
{
	char t[PATH_MAX];

	if (strncmp(path, "/memfd:", 7) || !strchr(path + 7, '/'))
		return;
	snprintf(t, sizeof t, "/%s", path + 7);
	snprintf(path, len, "%s", t);
}

/* the fd's target, without the inode number of a pipe, socket or anon
 * inode (the object label says which) */
static void link_put(int fd, const char *target)
{
	char what[64], t[PATH_MAX];
	const char *b = strchr(target, '[');

	snprintf(what, sizeof what, "fd %d", fd);
	snprintf(t, sizeof t, "%s", target);
	unmemfd(t, sizeof t);
	if (b && (!strncmp(target, "pipe:", 5) || !strncmp(target, "socket:", 7)))
		t[b - target] = 0;
	/* a pty slave's index may be another (the object label says which) */
	if (!strncmp(t, "/dev/pts/", 9) && isdigit((unsigned char)t[9]))
		t[9] = 0;
	put(what, "%s", t);
}

/* the memfd's seals (the inode's: any open of it reads them) */
static void seals_put(int fd, const char *fdpath)
{
	char what[64];
	int f = open(fdpath, O_RDONLY | O_CLOEXEC), s;

	if (f < 0)
		return;
	if ((s = fcntl(f, F_GET_SEALS)) >= 0) {
		snprintf(what, sizeof what, "fd %d seals", fd);
		put(what, "0x%x", s);
	}
	close(f);
}

/* The shim's own sockets: bound to its control socket's name, PID.sock
 * or PID.PIDNS.sock (lib/sockdir.h; a socket it accepts has that name too); they are the shim's, and a
 * freeze's connection exists only while the job is frozen.  Asked of
 * the socket itself, through a copy of the fd (pidfd_getfd).
 * 0 no, 1 a shim socket, 2 its listening one. */
static int is_shim(pid_t pid, int fd, const struct stat *st)
{
	struct sockaddr_un a;
	socklen_t len = sizeof a, ol = sizeof(int);
	int pfd, s, listening = 0, r = 0;
	const char *slash;
	unsigned long bound, ns;

	if (!S_ISSOCK(st->st_mode) || (pfd = syscall(SYS_pidfd_open, pid, 0)) < 0)
		return 0;
	s = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	if (s < 0)
		return 0;
	memset(&a, 0, sizeof a);
	if (getsockname(s, (struct sockaddr *)&a, &len) == 0 && a.sun_family == AF_UNIX &&
	    a.sun_path[0] && (slash = strrchr(a.sun_path, '/')) &&
	    sockdir_name_parse(slash + 1, &bound, &ns) == 0 && bound == (unsigned long)pid) {
		getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol);
		r = listening ? 2 : 1;
	}
	close(s);
	return r;
}

/* the running record of the tee (RUN), taken a moment before the freeze */
struct rec;
static const char *rec_get(const struct rec *r, const char *key);
static struct rec *run_rec;

/* While frozen, the shim holds fds the running process did not have a
 * moment before: its /proc/self files (mem, pagemap, stat, auxv...)
 * it hands to the tool, and the write end of the pipe it vmsplices
 * pages into (CKPT_OP_PAGES) */
static int is_shim_fd(pid_t pid, int fd, const char *target)
{
	char p[64], key[64];
	const char *had;

	snprintf(p, sizeof p, "/proc/%d/", (int)pid);
	if (!frozen || !run_rec ||
	    (strncmp(target, p, strlen(p)) && strncmp(target, "pipe:", 5)))
		return 0;
	snprintf(key, sizeof key, "%d fd %d", (int)pid, fd);
	had = rec_get(run_rec, key);
	if (!strncmp(target, "pipe:", 5))   /* recorded without its inode */
		return !had || strcmp(had, "pipe:");
	return !had || strcmp(had, target);
}

static void fds_record(pid_t pid)
{
	char dir[64], fdpath[128], target[PATH_MAX], what[64];
	static long fds[65536];
	struct stat st;
	const char *label;
	int n, i, ctl = 0;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	n = dir_nums(dir, fds, 65536);
	for (i = 0; i < n; i++) {
		int fd = (int)fds[i];
		ssize_t len;

		snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%d", (int)pid, fd);
		if ((len = readlink(fdpath, target, sizeof target - 1)) < 0 || stat(fdpath, &st) < 0)
			continue;
		target[len] = 0;
		/* the shim's dirty tracking (preload/dirty.c): made at a
		 * checkpoint, not by a restore */
		if (!strcmp(target, "anon_inode:[userfaultfd]"))
			continue;
		if (is_shim(pid, fd, &st) || is_shim_fd(pid, fd, target)) {
			ctl |= is_shim(pid, fd, &st) == 2;
			continue;
		}
		link_put(fd, target);
		snprintf(what, sizeof what, "fd %d", fd);
		label = obj_label(st.st_dev, st.st_ino, what);
		snprintf(what, sizeof what, "fd %d object", fd);
		put(what, "%s", label);
		if (S_ISREG(st.st_mode) || !strncmp(target, "/memfd:", 7)) {
			snprintf(what, sizeof what, "fd %d mode", fd);
			put(what, "0%o", st.st_mode);
		}
		if (!strncmp(target, "/memfd:", 7))
			seals_put(fd, fdpath);
		desc_record(pid, fd, label);
		fdinfo_record(pid, fd, fdpath, &st);
	}
	/* the shim serves its socket again after a restore */
	put("control socket", ctl ? "listening" : "none");
}

/* --- memory --- */

/* each mapping: its end, protection, offset, object and path, and its
 * VmFlags (madvise, mlock...) and protection key.  Two neighbours alike
 * in all of these are one: the kernel merges such mappings when it
 * makes them, as at a restore, but keeps apart two that got their
 * anonymous pages separately; the program cannot tell. */
struct map {
	unsigned long start, end, off;
	char perms[8], obj[48], path[PATH_MAX], flags[256], pkey[32];
};

static int map_joins(const struct map *m, const struct map *n)
{
	return m->end == n->start && !strcmp(m->perms, n->perms) && !strcmp(m->obj, "0") &&
	       !strcmp(n->obj, "0") && !m->off && !n->off && !strcmp(m->path, n->path) &&
	       !strcmp(m->flags, n->flags) && !strcmp(m->pkey, n->pkey);
}

static void map_put(const struct map *m)
{
	char what[64];

	snprintf(what, sizeof what, "map %lx", m->start);
	put(what, "%lx %s %lx obj %s %s", m->end, m->perms, m->off, m->obj, m->path);
	snprintf(what, sizeof what, "map %lx VmFlags", m->start);
	put(what, "%s", m->flags);
	if (m->pkey[0]) {
		snprintf(what, sizeof what, "map %lx ProtectionKey", m->start);
		put(what, "%s", m->pkey);
	}
}

/* a whole mapping read: joined to the one before, or that one put */
static void map_done(struct map *held, int *have, const struct map *n)
{
	if (*have && map_joins(held, n)) {
		held->end = n->end;
		return;
	}
	if (*have)
		map_put(held);
	*held = *n;
	*have = 1;
}

/* VmFlags "uw": registered with the shim's userfaultfd for dirty
 * tracking (preload/dirty.c), from the first checkpoint on; a restore
 * registers nothing until the next.  The program cannot tell. */
static void uw_drop(char *flags)
{
	char *uw = strstr(flags, " uw");   /* never first: "rd" or "wr" is */

	if (uw)
		memmove(uw, uw + 3, strlen(uw + 3) + 1);
}

static void maps_record(pid_t pid)
{
	static struct map held, n;
	char path[64], line[MAXL], what[48];
	unsigned long ino;
	unsigned maj, mnr;
	int have = 0, reading = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		struct map h;
		int used = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &h.start, &h.end, h.perms, &h.off,
			   &maj, &mnr, &ino, &used) >= 7 && used) {
			if (reading)
				map_done(&held, &have, &n);
			n.start = h.start, n.end = h.end, n.off = h.off;
			memcpy(n.perms, h.perms, sizeof n.perms);
			snprintf(what, sizeof what, "map %lx", h.start);
			snprintf(n.obj, sizeof n.obj, "%s",
				 ino ? obj_label(makedev(maj, mnr), ino, what) : "0");
			snprintf(n.path, sizeof n.path, "%s", chomp(line + used));
			unmemfd(n.path, sizeof n.path);
			n.flags[0] = n.pkey[0] = 0;
			reading = 1;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			snprintf(n.flags, sizeof n.flags, "%s", chomp(line + 8));
			uw_drop(n.flags);
		} else if (!strncmp(line, "ProtectionKey:", 14)) {
			snprintf(n.pkey, sizeof n.pkey, "%s", chomp(line + 14));
		}
	}
	if (reading)
		map_done(&held, &have, &n);
	if (have)
		map_put(&held);
	fclose(f);
}

/* --- the process --- */

static void limits_record(pid_t pid)
{
	char path[64], line[512], what[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "Limit", 5) || strlen(line) < 26)
			continue;
		line[25] = 0;
		snprintf(what, sizeof what, "limit %s", chomp(line));
		put(what, "%s", chomp(line + 26));
	}
	fclose(f);
}

/* POSIX timers: /proc/PID/timers, its records as one line each */
static void timers_record(pid_t pid)
{
	char path[64], line[512], what[64], id[32] = "?";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/timers", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		char *c;

		if (!colon_split(line, &c))
			continue;
		if (!strcmp(line, "ID")) {
			snprintf(id, sizeof id, "%s", chomp(c));
			continue;
		}
		snprintf(what, sizeof what, "timer %.20s %.30s", id, line);
		put(what, "%s", chomp(c));
	}
	fclose(f);
}

static void ns_record(pid_t pid)
{
	static const char *const ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user",
					   "uts", NULL };
	char fmt[64], what[32];

	for (int i = 0; ns[i]; i++) {
		snprintf(fmt, sizeof fmt, "/proc/%%d/ns/%s", ns[i]);
		snprintf(what, sizeof what, "ns %s", ns[i]);
		put_link(what, fmt, pid);
	}
}

static void hashes_record(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	put("environ hash", "%llx", fnv(path));
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
	put("auxv hash", "%llx", fnv(path));
}

static int zombie(pid_t pid)
{
	char buf[MAXL], *f[8];

	return stat_fields(pid, pid, f, 8, buf, sizeof buf) > 0 && f[0][0] == 'Z';
}

static void proc_record(pid_t pid)
{
	static long tids[65536];
	char dir[64];
	int n, i;

	cur = pid;
	if (zombie(pid)) {
		put("zombie", "yes");
		stat_record(pid);
		return;
	}
	put_file("comm", "/proc/%d/comm", pid);
	put_file("cmdline", "/proc/%d/cmdline", pid);
	put_link("exe", "/proc/%d/exe", pid);
	put_link("cwd", "/proc/%d/cwd", pid);
	put_link("root", "/proc/%d/root", pid);
	put_file("oom_score_adj", "/proc/%d/oom_score_adj", pid);
	put_file("loginuid", "/proc/%d/loginuid", pid);
	/* not sessionid: the kernel hands out a new audit session id at
	 * each write of loginuid (as a restore of it does), and nothing
	 * sets one */
	put_file("personality", "/proc/%d/personality", pid);
	put_file("coredump_filter", "/proc/%d/coredump_filter", pid);
	put_file("timerslack_ns", "/proc/%d/timerslack_ns", pid);
	put_file("cgroup", "/proc/%d/cgroup", pid);
	stat_record(pid);
	hashes_record(pid);
	ns_record(pid);
	limits_record(pid);
	timers_record(pid);
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	n = dir_nums(dir, tids, 65536);
	blk_all = ~0ULL;
	shd_pnd = 0;
	for (i = 0; i < n; i++)
		thread_record(pid, (pid_t)tids[i]);
	if (!frozen)
		put("ShdPnd", "%016llx", shd_pnd & blk_all);
	fds_record(pid);
	maps_record(pid);
}

static void record(const char *path, const pid_t *pids, int n)
{
	nobj = nseen = 0;   /* a record anew, not on top of the last try */
	if (!(out = fopen(path, "we"))) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < n; i++)
		proc_record(pids[i]);
	if (fclose(out)) {
		perror(path);
		exit(1);
	}
}

/* --- ROOT and its descendants, parents first (for the tee) --- */

static int job(pid_t root, pid_t *pids, int max)
{
	static long all[65536];
	static pid_t parent[65536];
	char path[64], buf[MAXL];
	int n = dir_nums("/proc", all, 65536), m = 1, i, j;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/proc/%ld/stat", all[i]);
		parent[i] = 0;
		if (slurp(path, buf, sizeof buf) && strrchr(buf, ')'))
			parent[i] = (pid_t)atol(strrchr(buf, ')') + 4);
	}
	pids[0] = root;
	for (j = 0; j < m; j++)
		for (i = 0; i < n && m < max; i++)
			if (parent[i] == pids[j])
				pids[m++] = (pid_t)all[i];
	return m;
}

/* --- comparing two records --- */

struct ent { char *key, *val; };
struct rec { struct ent *e; size_t n; };

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key);
}

static int rec_load(const char *path, struct rec *r)
{
	FILE *f = fopen(path, "re");
	char line[MAXL];
	size_t cap = 0;

	r->e = NULL;
	r->n = 0;
	if (!f)
		return perror(path), -1;
	while (fgets(line, sizeof line, f)) {
		char *tab = strchr(line, '\t');

		if (!tab)
			continue;
		*tab = 0;
		if (r->n == cap && !(r->e = realloc(r->e, (cap = cap * 2 + 256) * sizeof *r->e)))
			exit(1);
		line[strcspn(line, "\n")] = 0;
		tab[1 + strcspn(tab + 1, "\n")] = 0;
		r->e[r->n].key = strdup(line);
		r->e[r->n++].val = strdup(tab + 1);
	}
	fclose(f);
	qsort(r->e, r->n, sizeof *r->e, ent_cmp);
	return 0;
}

static const char *rec_get(const struct rec *r, const char *key)
{
	struct ent k = { (char *)key, NULL }, *e;

	e = bsearch(&k, r->e, r->n, sizeof *r->e, ent_cmp);
	return e ? e->val : NULL;
}

static pid_t root_pid;   /* the job's root: ckpt-thaw is its parent now */

/* Processes of the job, not its root, that were restored and have
 * ended on their own since (a compiler make started, a shell's
 * short-lived child): the job goes on, and their keys say nothing */
static pid_t ended[4096];
static int nended;

static int has_ended(pid_t pid)
{
	for (int i = 0; i < nended; i++)
		if (ended[i] == pid)
			return 1;
	return 0;
}

/* Keys that differed in every round so far (NULL: the first round) */
static char **still;
static size_t nstill;
static int round_no;

static int still_differs(const char *key)
{
	if (!round_no)
		return 1;
	for (size_t i = 0; i < nstill; i++)
		if (!strcmp(still[i], key))
			return 1;
	return 0;
}

/* Left out of the comparison: the root's parent is ckpt-thaw, which
 * waits for it and passes its status on (doc/ckpt-thaw.1); a process
 * that ended after its restore; a key that was the same in a round
 * before (the job runs: what it does passes, what the restore got
 * wrong stays wrong in every round). */
static int skipped(const char *key)
{
	char k[64];

	snprintf(k, sizeof k, "%d ppid", (int)root_pid);
	return !strcmp(key, k) || has_ended((pid_t)atoi(key)) || !still_differs(key);
}

static int key_ends(const char *key, const char *end);
static int is_map(const char *key);
static const char *nth_space(const char *s, int n);

/* Differences that are bugs, known and reported (issue 17), which the
 * restore side does not fix yet: printed as "known:", not counted, so
 * that a new difference still fails.  Each says where it comes from;
 * remove the entry with the fix. */
/* set when the job was restored in a pid namespace of its own */
static int new_ns;
static const struct rec *before;   /* the record before, for ns_known */

/* id (a pgid, a sid) names no process of the job */
static int outside_job(const char *id)
{
	char key[64];

	snprintf(key, sizeof key, "%ld comm", atol(id));
	return !rec_get(before, key) && strcmp(id, "0");
}

/* A job restored in a pid namespace of its own (its pid taken, or a
 * user's restore) runs in new pid and mount namespaces, and a group or
 * session led from outside the job, ckpt-thaw's, lies outside them: 0
 * there (doc/ckpt-thaw.1) */
static const char *ns_known(const char *key, const char *b, const char *a)
{
	char want[MAXL], f[4][32];

	if (!new_ns)
		return NULL;
	if (key_ends(key, " ns mnt") || key_ends(key, " ns pid"))
		return "restored in a pid namespace of its own: new pid and mount namespaces";
	if ((key_ends(key, " NSpgid") || key_ends(key, " NSsid")) && outside_job(b) &&
	    !strcmp(a, "0"))
		return "a group or session led from outside the job is ckpt-thaw's: 0 in the "
		       "job's namespace";
	if (key_ends(key, " pgrp session tty tpgid") &&
	    sscanf(b, "%31s %31s %31s %31s", f[0], f[1], f[2], f[3]) == 4) {
		snprintf(want, sizeof want, "%s %s %s %s", outside_job(f[0]) ? "0" : f[0],
			 outside_job(f[1]) ? "0" : f[1], f[2], f[3]);
		if (!strcmp(want, a))
			return "a group or session led from outside the job is ckpt-thaw's: 0 "
			       "in the job's namespace";
	}
	return NULL;
}

static const char *known(const char *key, const char *b, const char *a)
{
	const char *sp = strchr(key, ' ') + 1, *ns;
	size_t n;

	if (!b || !a)
		return NULL;
	if ((ns = ns_known(key, b, a)))
		return ns;
	/* O_LARGEFILE: open(2) of a FIFO sets it, pipe(2) does not, and
	 * x86-64 ignores it either way */
	if (!strncmp(sp, "fd ", 3) && key_ends(key, " flags") &&
	    (strtol(b, NULL, 8) ^ strtol(a, NULL, 8)) == 0100000)
		return "O_LARGEFILE alone differs (a pipe made again has none; x86-64 ignores it)";
	/* glibc blocks its SIGCANCEL and SIGSETXID (32, 33), which no
	 * program can block, only for a moment inside its own calls
	 * (pthread_create, fork, ...); the running sample of SigBlk, a
	 * moment before the freeze, may fall in one */
	if (key_ends(key, " SigBlk") &&
	    (strtoull(b, NULL, 16) ^ strtoull(a, NULL, 16)) == 0x180000000ull)
		return "glibc's own signals 32 and 33 alone differ in a thread's mask (blocked for "
		       "a moment inside glibc when the running sample was taken)";
	/* the restorer maps anonymous memory with the saved bytes for a
	 * private mapping of a file it cannot reach at its path that is
	 * not deleted (mounted over, replaced), or a deleted one the job
	 * cannot make again (its directory gone): the mapping loses its
	 * file (formats/memory.md) */
	if (is_map(key) && strstr(a, " obj 0 ") && !strstr(b, " obj 0 ") &&
	    nth_space(a, 2) - a == nth_space(b, 2) - b && !strncmp(a, b, nth_space(b, 2) - b))
		return "a private mapping of a file out of reach at its path comes back as "
		       "anonymous memory, its bytes kept, its file lost";
	/* an unlinked file with another link beside it comes back as that
	 * link, by design (lib/fdlink.c, formats/fds.md) */
	n = strlen(b);
	if (!strncmp(sp, "fd ", 3) && !strchr(sp + 3, ' ') && n > 10 &&
	    !strcmp(b + n - 10, " (deleted)") && a[0] == '/' && !strstr(a, " (deleted)") &&
	    strrchr(b, '/') && strrchr(a, '/') - a == strrchr(b, '/') - b &&
	    !strncmp(a, b, strrchr(b, '/') - b) && strrchr(a, '/')[1] != '#')
		return "an unlinked file with another link beside it comes back as that link "
		       "(lib/fdlink.c)";
	return NULL;
}

static int quiet;   /* a round that is not the last: count, say nothing */

/* $PROCSTATE_EXPECT: what a test restores differently by design, as
 * "fd 3;fd 4": every key of fd 3 and of fd 4 (a FIFO unlinked since
 * comes back as a pipe, say); formats/ says why, the test says which */
static int expected(const char *key)
{
	const char *e = getenv("PROCSTATE_EXPECT"), *end;
	size_t n;

	for (; e && *e; e = *end ? end + 1 : end) {
		end = strchr(e, ';');
		if (!end)
			end = e + strlen(e);
		n = end - e;
		if (n && !strncmp(key, e, n) && (key[n] == 0 || key[n] == ' '))
			return 1;
	}
	return 0;
}

static char **differing;   /* this round's differing keys */
static size_t ndiffering;

static int differ(const char *key, const char *b, const char *a)
{
	const char *why = known(key, b, a), *sp = strchr(key, ' ');

	if (!why && expected(sp + 1))
		why = "a difference this test expects ($PROCSTATE_EXPECT)";
	if (quiet) {
		if (!why && (differing = realloc(differing, (ndiffering + 1) * sizeof *differing)))
			differing[ndiffering++] = strdup(key);
		return !why;
	}
	if (why) {
		printf("known: pid %s: %s\n", key, why);
		return 0;
	}
	printf("pid %.*s %s: before \"%s\", after \"%s\"\n", (int)(sp - key), key, sp + 1,
	       b ? b : "(none)", a ? a : "(none)");
	return 1;
}

static int moved;   /* $PROCSTATE_MOVED: a rules file moved files */
/* $PROCSTATE_BUSY: the job works on at full speed after the restore (a
 * compiler): its heap grows and it maps more before the record is
 * taken, so a mapping may have grown at its end, and one that was not
 * there is its own */
static int busy;

static int is_map(const char *key)
{
	int p, used = 0;
	unsigned long a;

	return sscanf(key, "%d map %lx%n", &p, &a, &used) == 2 && !key[used];
}

static int key_ends(const char *key, const char *end)
{
	size_t k = strlen(key), e = strlen(end);

	return k > e && !strcmp(key + k - e, end);
}

/* the nth space (from 1) of s, or its end */
static const char *nth_space(const char *s, int n)
{
	for (; *s; s++)
		if (*s == ' ' && --n == 0)
			return s;
	return s;
}

/* b and a, different strings, say the same */
static int same_value(const char *key, const char *b, const char *a)
{
	int fd, used = 0;
	pid_t p;

	if (busy && is_map(key) && strchr(b, ' ') && strchr(a, ' '))
		return !strcmp(strchr(b, ' '), strchr(a, ' ')) && strtoul(a, NULL, 16) >= strtoul(b, NULL, 16);
	/* a log's offset: at the end in both, or the same */
	if (key_ends(key, " pos"))
		return atoll(b) == atoll(a) ||
		       (key_ends(b, " end") && key_ends(a, " end"));
	/* ckpt-thaw --files-rules (or CKPT_FILES_DATA) put files where the
	 * rules say: their paths are the rules' */
	if (moved && sscanf(key, "%d fd %d%n", &p, &fd, &used) == 2 && !key[used])
		return b[0] == '/' && a[0] == '/';
	if (moved && strstr(key, " map ") && !key_ends(key, "VmFlags"))
		return nth_space(b, 5) - b == nth_space(a, 5) - a &&
		       !strncmp(b, a, nth_space(b, 5) - b);
	return 0;
}

/* every difference printed; how many */
static int rec_diff(const struct rec *b, const struct rec *a)
{
	size_t i = 0, j = 0;
	int n = 0, c;

	while (i < b->n || j < a->n) {
		c = i == b->n ? 1 : j == a->n ? -1 : strcmp(b->e[i].key, a->e[j].key);
		if (c < 0) {
			if (!skipped(b->e[i].key))
				n += differ(b->e[i].key, b->e[i].val, NULL);
			i++;
		} else if (c > 0) {
			if (!skipped(a->e[j].key) && !(busy && strstr(a->e[j].key, " map ")))
				n += differ(a->e[j].key, NULL, a->e[j].val);
			j++;
		} else {
			if (strcmp(b->e[i].val, a->e[j].val) && !skipped(b->e[i].key) &&
			    !same_value(b->e[i].key, b->e[i].val, a->e[j].val))
				n += differ(b->e[i].key, b->e[i].val, a->e[j].val);
			i++, j++;
		}
	}
	return n;
}

/* --- the modes --- */

/* the processes of a record, in its order (root first) */
static int rec_pids(const char *path, pid_t *pids, int max)
{
	FILE *f = fopen(path, "re");
	char line[MAXL];
	int n = 0, p;

	while (f && fgets(line, sizeof line, f) && n < max) {
		char what[32];

		if (sscanf(line, "%d %31[^\t]", &p, what) == 2 &&
		    (!strcmp(what, "comm") || !strcmp(what, "zombie")))
			pids[n++] = p;
	}
	if (f)
		fclose(f);
	return n;
}

/* the running record's SigBlk, SigPnd lines of the threads the frozen
 * record has, ShdPnd of its processes ("PID ShdPnd": then "PID comm") */
static void sigblk_merge(const char *frozen_path, const char *run_path)
{
	struct rec fr, run;
	FILE *o;
	size_t i;

	if (rec_load(frozen_path, &fr) < 0 || rec_load(run_path, &run) < 0 ||
	    !(o = fopen(frozen_path, "ae")))
		exit(1);
	for (i = 0; i < run.n; i++) {
		char comm[200], *s = strstr(run.e[i].key, " SigBlk");

		if (!s)
			s = strstr(run.e[i].key, " SigPnd");
		if (!s)
			s = strstr(run.e[i].key, " ShdPnd");
		if (!s || s[7])
			continue;
		snprintf(comm, sizeof comm, "%.*s comm", (int)(s - run.e[i].key), run.e[i].key);
		if (rec_get(&fr, comm))
			fprintf(o, "%s\t%s\n", run.e[i].key, run.e[i].val);
	}
	fclose(o);
}

static int tee_mode(const char *path, pid_t root, const char *run, int single)
{
	static char buf[1 << 16];
	static pid_t pids[4096];
	ssize_t n, w, off;
	int first = 1;

	while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		if (first) {
			static struct rec runr;

			if (run && rec_load(run, &runr) == 0)
				run_rec = &runr;
			/* ckpt-freeze writes its stream once every thread
			 * of the job is parked */
			frozen = 1;
			pids[0] = root;
			record(path, pids, single ? 1 : job(root, pids, 4096));
			frozen = 0;
			if (run)
				sigblk_merge(path, run);
			first = 0;
		}
		for (off = 0; off < n; off += w)
			if ((w = write(1, buf + off, n - off)) <= 0)
				return perror("procstate: write"), 1;
	}
	return n < 0 ? 1 : 0;
}

static int text_is(const char *path, const char *want)
{
	char buf[PATH_MAX], *v;

	return want && (v = slurp(path, buf, sizeof buf)) && !strcmp(v, want);
}

static int link_is(const char *path, const char *want)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);

	if (n < 0 || !want)
		return 0;
	buf[n] = 0;
	return !strcmp(buf, want);
}

/* pid is back as the record has it: a zombie again, or its exe, each
 * thread with its name, and its control socket served again (the last
 * thing a restored shim does) */
static int ctl_served(pid_t pid);

static int is_restored(const struct rec *b, pid_t pid)
{
	char key[200], path[128];
	const char *ctl;
	size_t i;

	snprintf(key, sizeof key, "%d zombie", (int)pid);
	if (rec_get(b, key))
		return zombie(pid);
	snprintf(key, sizeof key, "%d exe", (int)pid);
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	if (!link_is(path, rec_get(b, key)))
		return 0;
	for (i = 0; i < b->n; i++) {
		int p, t, used = 0;

		if (sscanf(b->e[i].key, "%d task %d comm%n", &p, &t, &used) != 2 || p != pid ||
		    b->e[i].key[used])
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%d/comm", p, t);
		if (!text_is(path, b->e[i].val))
			return 0;
	}
	snprintf(key, sizeof key, "%d control socket", (int)pid);
	if ((ctl = rec_get(b, key)) && !strcmp(ctl, "listening"))
		return ctl_served(pid);
	return 1;
}

/* the restored shim listens on its socket again, and has closed the
 * directory it bound it in: the last step of its restart */
static int ctl_served(pid_t pid)
{
	const char *env = getenv("CKPT_SOCKDIR");
	char real[PATH_MAX], *sockdir = env ? realpath(env, real) : NULL;
	char dir[64], fdpath[128], target[PATH_MAX];
	static long fds[65536];
	int n, k, listening = 0;
	struct stat st;
	ssize_t len;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	n = dir_nums(dir, fds, 65536);
	for (k = 0; k < n; k++) {
		snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%ld", (int)pid, fds[k]);
		if (stat(fdpath, &st) == 0 && is_shim(pid, (int)fds[k], &st) == 2)
			listening = 1;
		if (sockdir && (len = readlink(fdpath, target, sizeof target - 1)) > 0) {
			target[len] = 0;
			if (!strcmp(target, sockdir))
				return 0;
		}
	}
	return listening;
}

/* a zombie is gone for this purpose: ckpt-thaw is not waited for yet */
static int running(pid_t pid)
{
	char buf[MAXL], *f[2];

	return stat_fields(pid, pid, f, 2, buf, sizeof buf) > 0 && f[0][0] != 'Z';
}

/* ckpt-thaw's /proc directory, opened before this enters a job's
 * namespace, whose /proc does not show ckpt-thaw */
static int thaw_dir = -1;

static int thaw_running(void)
{
	char buf[MAXL], *s;
	int fd = openat(thaw_dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return (s = strrchr(buf, ')')) && s[1] == ' ' && s[2] != 'Z';
}

/* pid's namespaces of mount and pid joined, both opened first (once
 * in the mount namespace, /proc no longer shows pid): 1, or 0 */
static int join_ns(pid_t pid)
{
	char path[64];
	int mnt, pidns, ok;

	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	mnt = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	pidns = open(path, O_RDONLY | O_CLOEXEC);
	ok = mnt >= 0 && pidns >= 0 && setns(pidns, CLONE_NEWPID) == 0 &&
	     setns(mnt, CLONE_NEWNS) == 0;
	close(mnt);
	close(pidns);
	return ok;
}

/* a child goes on in the pid namespace joined (pidfd_open names pids
 * in the caller's own); this process waits for it and passes on its
 * status (3: it was killed, when the namespace ended under it) */
static int go_in(void)
{
	pid_t kid;
	int st;

	fflush(stdout);
	if ((kid = fork()) < 0)
		return 0;
	if (kid == 0)
		return 1;
	while (waitpid(kid, &st, 0) < 0 && errno == EINTR)
		;
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
}

/* A restore into a pid namespace of its own (the pid taken, or a user's
 * restore): ckpt-thaw's child leads it, and mounted its /proc in a mount
 * namespace of its own.  Going into that mount namespace makes /proc
 * show the job by its old pids, as the record before has them; its pid
 * namespace, that pidfds name them so: 1 once in, 0 while there is
 * none (yet). */
static int enter_job_ns(pid_t thaw)
{
	char path[128], kids[256], ours[64], theirs[64];
	ssize_t n;
	pid_t kid;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)thaw, (int)thaw);
	if (!slurp(path, kids, sizeof kids) || (kid = atoi(kids)) <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)kid);
	if ((n = readlink(path, theirs, sizeof theirs - 1)) < 0)
		return 0;
	theirs[n] = 0;
	if ((n = readlink("/proc/self/ns/pid", ours, sizeof ours - 1)) < 0)
		return 0;
	ours[n] = 0;
	if (!strcmp(ours, theirs))
		return 0;
	return join_ns(kid) && go_in();
}

#define AFTER_ROUNDS 25   /* 20 ms apart */

/* the processes, but the root, that have ended (or are zombies, not
 * recorded as such) since they were found restored */
static void ended_since(const struct rec *b, const pid_t *pids, int n)
{
	char key[64];

	for (int i = 1; i < n; i++) {
		snprintf(key, sizeof key, "%d zombie", (int)pids[i]);
		if (!has_ended(pids[i]) && !running(pids[i]) && !rec_get(b, key) &&
		    nended < (int)(sizeof ended / sizeof *ended))
			ended[nended++] = pids[i];
	}
}

/* this round's differing keys are the ones the next round looks at */
static void next_round(void)
{
	for (size_t i = 0; i < nstill; i++)
		free(still[i]);
	free(still);
	still = differing, nstill = ndiffering;
	differing = NULL, ndiffering = 0;
	round_no++;
}

static int after_mode(const char *bpath, const char *apath, pid_t thaw, double secs)
{
	static pid_t pids[4096];
	struct rec b, a;
	struct timespec nap = { 0, 20000000 };
	long tries = (long)(secs * 50);
	int n, i, d;
	char path[64];

	if (rec_load(bpath, &b) < 0 || !(n = rec_pids(bpath, pids, 4096)))
		return fprintf(stderr, "procstate: %s: no process\n", bpath), 3;
	root_pid = pids[0];
	before = &b;
	snprintf(path, sizeof path, "/proc/%d", (int)thaw);
	if ((thaw_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fprintf(stderr, "procstate: %s: %s\n", path, strerror(errno)), 3;
	/* each one restored, and still so a moment later (the shim closes
	 * the directory it bound its socket in just after the bind) */
	for (i = 0; i < n; tries--) {
		if (!new_ns)
			new_ns = enter_job_ns(thaw);
		if (is_restored(&b, pids[i])) {
			nanosleep(&nap, NULL);
			if (is_restored(&b, pids[i])) {
				i++;
				continue;
			}
		}
		if (tries <= 0 || !thaw_running()) {
			printf("procstate: pid %d was not restored (%s)\n", (int)pids[i],
			       tries <= 0 ? "timed out" : "ckpt-thaw is gone");
			return 3;
		}
		nanosleep(&nap, NULL);
	}
	/* The job runs: a shell blocks SIGCHLD for a moment, or holds a
	 * redirection's fd, at the instant of a record.  What the restore
	 * got wrong stays; what the job does passes: so a key counts only
	 * if it differs in every one of a few rounds. */
	for (i = 0, quiet = 1;; i++) {
		record(apath, pids, n);
		if (rec_load(apath, &a) < 0)
			return 1;
		ended_since(&b, pids, n);
		quiet = i < AFTER_ROUNDS - 1;
		if (!(d = rec_diff(&b, &a)) || !quiet)
			break;
		next_round();
		nanosleep(&nap, NULL);
	}
	if (quiet) {   /* the same: the known differences said once */
		quiet = 0;
		rec_diff(&b, &a);
	}
	return d ? 1 : 0;
}

int main(int argc, char **argv)
{
	static pid_t pids[4096];
	struct rec b, a;
	int n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	moved = getenv("PROCSTATE_MOVED") && *getenv("PROCSTATE_MOVED");
	busy = getenv("PROCSTATE_BUSY") && *getenv("PROCSTATE_BUSY");
	if (argc == 5 && !strcmp(argv[1], "record") && !strcmp(argv[3], "-t")) {
		record(argv[2], pids, job((pid_t)atoi(argv[4]), pids, 4096));
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "record")) {
		for (int i = 3; i < argc && n < 4096; i++)
			pids[n++] = (pid_t)atoi(argv[i]);
		record(argv[2], pids, n);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "tee") && !strcmp(argv[2], "-s"))
		return tee_mode(argv[3], (pid_t)atoi(argv[4]), argc == 6 ? argv[5] : NULL, 1);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "tee"))
		return tee_mode(argv[2], (pid_t)atoi(argv[3]), argc == 5 ? argv[4] : NULL, 0);
	if (argc == 6 && !strcmp(argv[1], "after"))
		return after_mode(argv[2], argv[3], (pid_t)atoi(argv[4]), atof(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "diff")) {
		if (rec_load(argv[2], &b) < 0 || rec_load(argv[3], &a) < 0)
			return 1;
		n = rec_pids(argv[2], pids, 1);
		root_pid = n ? pids[0] : 0;
		return rec_diff(&b, &a) ? 1 : 0;
	}
	fprintf(stderr, "usage: procstate record OUT PID...|-t ROOT | tee [-s] OUT ROOT [RUN] |\n"
			"       after BEFORE AFTER THAWPID SECS | diff BEFORE AFTER\n");
	return 2;
}
