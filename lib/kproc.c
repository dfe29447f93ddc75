/* kproc.c - what the kernel says of a process, read by the tool */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "kproc.h"
#include "maps.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77         /* Linux 6.5 */
#endif

static int pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* the pid a pidfd stands for, from its fdinfo; -1 if gone */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], v[32], *s;
	pid_t p;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	if (!(s = read_file(path, NULL)))
		return -1;
	p = atoi(status_value(s, "Pid", v, sizeof v));
	free(s);
	return p > 0 ? p : -1;
}

/* The listener behind the socket is the process (a pidfd for the peer
 * pins it); without SO_PEERPIDFD (before 6.5) a pidfd of pid, which
 * ctl_open's peer check ties to the socket. */
static int peer_pidfd(pid_t pid, int sock)
{
	socklen_t len = sizeof(int);
	int fd = -1;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0)
		return fd;
	if (errno != ENOPROTOOPT)
		return -1;
	return syscall(SYS_pidfd_open, pid, 0);
}

int kproc_open(struct kproc *k, pid_t pid, int sock)
{
	char path[32];
	pid_t p;

	k->pid = pid;
	k->dirfd = -1;
	if ((k->pidfd = peer_pidfd(pid, sock)) < 0)
		return warn("pid %d: a pidfd for the shim's process:", (int)pid), -1;
	fcntl(k->pidfd, F_SETFD, FD_CLOEXEC);
	if ((p = pidfd_pid(k->pidfd)) != pid) {
		warn("pid %d: the control socket is served by pid %d, not the process", (int)pid, (int)p);
		kproc_close(k);
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	k->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* alive after the open: the directory is that process's, since its
	 * pid cannot be reused while the pidfd's process lives */
	if (k->dirfd < 0 || !pidfd_alive(k->pidfd)) {
		warn("pid %d: /proc/%d: the process is gone", (int)pid, (int)pid);
		kproc_close(k);
		return -1;
	}
	return 0;
}

void kproc_close(struct kproc *k)
{
	if (k->dirfd >= 0)
		close(k->dirfd);
	if (k->pidfd >= 0)
		close(k->pidfd);
	k->dirfd = k->pidfd = -1;
}

char *kproc_read(const struct kproc *k, const char *rel, size_t *lenp)
{
	int fd = openat(k->dirfd, rel, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd < 0)
		return NULL;
	s = read_fd_all(fd, lenp);
	close(fd);
	return s;
}

int kproc_link(const struct kproc *k, const char *rel, char *buf, size_t len)
{
	ssize_t n = readlinkat(k->dirfd, rel, buf, len - 1);

	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* pid (field 1) and start time (field 22) of a stat text */
static int stat_ident(const char *s, long long *pid, unsigned long long *start)
{
	const char *p = s ? strrchr(s, ')') : NULL;
	int n;

	if (!s || !p || sscanf(s, "%lld", pid) != 1)
		return -1;
	for (n = 2; n < 22 && p; n++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p, " %llu", start) == 1 ? 0 : -1;
}

int kproc_is(const struct kproc *k, int stat_fd)
{
	char *mine = kproc_read(k, "stat", NULL), *theirs = read_fd_all(stat_fd, NULL);
	unsigned long long s1 = 0, s2 = 1;
	long long p1 = 0, p2 = -1;
	int r = stat_ident(mine, &p1, &s1) == 0 && stat_ident(theirs, &p2, &s2) == 0 &&
		p1 == p2 && s1 == s2;

	free(mine);
	free(theirs);
	return r;
}

int kproc_same(const struct kproc *k, int shim_stat_fd)
{
	char *mine = kproc_read(k, "stat", NULL), *theirs = read_fd_all(shim_stat_fd, NULL);
	unsigned long long s1 = 0, s2 = 1;
	long long p1 = 0, p2 = -1;
	int r = -1;

	if (stat_ident(mine, &p1, &s1) < 0)
		warn("pid %d: /proc/%d/stat: unreadable", (int)k->pid, (int)k->pid);
	else if (stat_ident(theirs, &p2, &s2) < 0 || p1 != p2 || s1 != s2)
		warn("pid %d: the shim's /proc/self/stat is not the process's (pid %lld, start %llu; the kernel says %lld, %llu)",
		     (int)k->pid, p2, s2, p1, s1);
	else
		r = 0;
	free(mine);
	free(theirs);
	return r;
}

int kproc_no_seccomp(const struct kproc *k)
{
	static const char *const modes[] = { "off", "strict", "filter" };
	int fd = openat(k->dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct kcreds c;
	struct dirent *e;
	pid_t tid = 0;

	if (!d) {
		warn("pid %d: /proc/%d/task:", (int)k->pid, (int)k->pid);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (!tid && (e = readdir(d)))
		if (atoi(e->d_name) > 0 && kcreds_read(k, atoi(e->d_name), &c) == 0 && c.seccomp)
			tid = atoi(e->d_name);
	closedir(d);
	if (!tid)
		return 0;
	warn("pid %d: thread %d is under seccomp (Seccomp: %d, %s, %d filters): a seccomp filter cannot be restored; not checkpointed",
	     (int)k->pid, (int)tid, c.seccomp, modes[c.seccomp > 2 ? 0 : c.seccomp], c.filters);
	return -1;
}

int kproc_no_aio(const struct kproc *k)
{
	struct map_region *r = NULL;
	size_t len, n = 0, bad, i;
	char *text = kproc_read(k, "maps", &len);
	int found = -1;

	/* one we may not read is not dumpable: the process record refuses
	 * it, saying so */
	if (!text && errno == EACCES)
		return 0;
	if (!text)
		return warn("pid %d: /proc/%d/maps:", (int)k->pid, (int)k->pid), -1;
	if (maps_parse(text, len, &r, &n, &bad) < 0) {
		warn("pid %d: /proc/%d/maps: line %zu: malformed", (int)k->pid, (int)k->pid, bad);
		free(text);
		return -1;
	}
	for (i = 0; i < n && found < 0; i++)
		if (r[i].shared && map_path_is(&r[i], "/[aio] (deleted)"))
			found = i;
	if (found >= 0)
		warn("pid %d: an AIO context (io_setup), id 0x%" PRIx64 ": a restore cannot make it again; not checkpointed",
		     (int)k->pid, r[found].start);
	free(r);
	free(text);
	return found < 0 ? 0 : -1;
}

long long self_number(const char *name)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/self/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

const char *status_value(const char *status, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), i, n;
	const char *l, *v;

	for (l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) || l[klen] != ':')
			continue;
		for (v = l + klen + 1; *v == '\t' || *v == ' '; v++)
			;
		n = strcspn(v, "\n");
		n = n < len - 1 ? n : len - 1;
		for (i = 0; i < n; i++)
			out[i] = v[i] == '\t' ? ' ' : v[i];
		while (i > 0 && out[i - 1] == ' ')
			i--;
		out[i] = 0;
		return out;
	}
	out[0] = 0;
	return out;
}

long status_inner_id(const char *status, const char *key, int *levels)
{
	char buf[512], *f, *save;
	long id = -1;
	int n = 0;

	status_value(status, key, buf, sizeof buf);
	for (f = strtok_r(buf, " ", &save); f;
	     f = strtok_r(NULL, " ", &save), n++)
		id = atol(f);
	if (levels)
		*levels = n;
	return id;
}

/* up to max decimal numbers separated by spaces: how many, or -1 */
static int status_nums(const char *status, const char *key, uint32_t *v, unsigned max)
{
	char buf[8192], *p, *end;
	unsigned n = 0;

	p = (char *)status_value(status, key, buf, sizeof buf);
	while (*p) {
		if (n == max)
			return -1;
		errno = 0;
		unsigned long long x = strtoull(p, &end, 10);
		if (end == p || errno || x > UINT32_MAX)
			return -1;
		v[n++] = x;
		p = end + (*end == ' ');
	}
	return n;
}

static int status_hex(const char *status, const char *key, uint64_t *v)
{
	char buf[64], *end;

	status_value(status, key, buf, sizeof buf);
	*v = strtoull(buf, &end, 16);
	return *buf && !*end ? 0 : -1;
}

int kcreds_parse(const char *s, struct kcreds *c)
{
	static const char *const caps[5] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char v[32];
	int n, i, r = 0;

	memset(c, 0, sizeof *c);
	if (status_nums(s, "Uid", c->uid, 4) != 4 || status_nums(s, "Gid", c->gid, 4) != 4 ||
	    (n = status_nums(s, "Groups", c->groups, KCREDS_GROUPS_MAX)) < 0)
		r = -1;
	else
		c->ngroups = n;
	for (i = 0; i < 5; i++)
		if (status_hex(s, caps[i], &c->cap[i]) < 0)
			r = -1;
	c->nnp = atoi(status_value(s, "NoNewPrivs", v, sizeof v));
	c->seccomp = atoi(status_value(s, "Seccomp", v, sizeof v));
	c->filters = atoi(status_value(s, "Seccomp_filters", v, sizeof v));
	if (r < 0)
		errno = EPROTO;
	return r;
}

int kcreds_read(const struct kproc *k, pid_t tid, struct kcreds *c)
{
	char rel[64], *s;
	int r;

	snprintf(rel, sizeof rel, "task/%d/status", (int)tid);
	if (!(s = kproc_read(k, rel, NULL)))
		return -1;
	r = kcreds_parse(s, c);
	free(s);
	return r;
}

void kcreds_write(FILE *f, const struct kcreds *c, uint32_t securebits)
{
	unsigned i;

	fprintf(f, "uid %u %u %u %u\n", c->uid[0], c->uid[1], c->uid[2], c->uid[3]);
	fprintf(f, "gid %u %u %u %u\ngroups", c->gid[0], c->gid[1], c->gid[2], c->gid[3]);
	for (i = 0; i < c->ngroups; i++)
		fprintf(f, " %u", c->groups[i]);
	fprintf(f, "\ncaps");
	for (i = 0; i < 5; i++)
		fprintf(f, " 0x%016" PRIx64, c->cap[i]);
	fprintf(f, "\nsecurebits 0x%x\nno-new-privs %d\n", securebits, c->nnp);
}
