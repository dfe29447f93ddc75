/* sockjob.c - the unix socket pairs of a job (sockjob.h), from
 * /proc/PID/fd and sock_diag, while the job is frozen */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdscan.h"
#include "job.h"
#include "num.h"
#include "sockdir.h"
#include "sockdump.h"
#include "sockjob.h"
#include "u64index.h"

/* one socket fd of a process of the job */
struct job_sock {
	pid_t pid;
	int fd;
	uint64_t ino;
	int outside;               /* fds 0-2 of the first process */
};

/* the inode of socket fd fd of pid, or 0 when it is no socket (for
 * the message about a process outside the job: not kept, fdscan.h) */
static uint64_t sock_ino(pid_t pid, const char *fd)
{
	char path[300], link[64];
	uint64_t ino;
	ssize_t n;
	char *end;

	snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, fd);
	if ((n = readlink(path, link, sizeof link - 1)) < 9)
		return 0;
	link[n] = 0;
	if (strncmp(link, "socket:[", 8) || !(end = strchr(link, ']')))
		return 0;
	*end = 0;
	return num_parse(link + 8, UINT64_MAX, &ino) < 0 ? 0 : ino;
}

/* the socket fds of pid, appended to *v: 0, or -1 after a message */
static int socks_of(pid_t pid, int first, struct job_sock **v, size_t *n, size_t *cap)
{
	const struct fdscan *s = fdscan_of(pid);
	size_t i;

	if (!s)
		return warn("pid %d: /proc/%d/fd: its fds, to find its socket pairs:", (int)pid,
			    (int)pid), -1;
	for (i = 0; i < s->n; i++) {
		if (!S_ISSOCK(s->v[i].st.st_mode))
			continue;
		if (*n == *cap && !(*v = realloc(*v, (*cap = *cap ? 2 * *cap : 64) * sizeof **v)))
			die("out of memory");
		(*v)[(*n)++] = (struct job_sock){ pid, s->v[i].fd, s->v[i].st.st_ino,
						  first && s->v[i].fd <= 2 };
	}
	return 0;
}

/* the first fd of each socket of the job, by inode, of those a
 * restore makes ([0]) and of those it attaches anew ([1]), for the v
 * job_socks_check holds: a scan of v per question took a job of 2000
 * sockets 4 million steps */
static struct u64index held[2];

static void held_index(const struct job_sock *v, size_t n)
{
	size_t i;

	for (i = n; i-- > 0;)   /* backwards: the first one stays */
		if (u64index_put(&held[!!v[i].outside], v[i].ino, i) < 0)
			die("out of memory");
}

/* the first fd of the job on socket ino, that a restore makes
 * (outside 0: not one that leads outside) or attaches anew (1) */
static const struct job_sock *sock_held(const struct job_sock *v, size_t n, uint64_t ino, int outside)
{
	int i = u64index_get(&held[!!outside], ino);

	return i >= 0 && (size_t)i < n ? &v[i] : NULL;
}

/* a process outside the job holding socket ino: its pid (and *fd), or
 * 0 when none is found; for the message only */
static pid_t holder_find(uint64_t ino, int *fd)
{
	DIR *proc = opendir("/proc"), *d;
	struct dirent *pe, *de;
	char path[300];
	uint64_t pid, n;

	for (pid = 0; proc && ino && !pid && (pe = readdir(proc));) {
		snprintf(path, sizeof path, "/proc/%s/fd", pe->d_name);
		if (num_parse(pe->d_name, INT32_MAX, &n) < 0 || !(d = opendir(path)))
			continue;
		while (!pid && (de = readdir(d)))
			if (sock_ino(n, de->d_name) == ino) {
				*fd = atoi(de->d_name);
				pid = n;
			}
		closedir(d);
	}
	if (proc)
		closedir(proc);
	return pid;
}

/* a process outside the job holding socket ino, as words */
static void holder_words(uint64_t ino, char *who, size_t cap)
{
	int fd = -1;
	pid_t pid = holder_find(ino, &fd);

	if (pid)
		snprintf(who, cap, "fd %d of pid %d, a process outside the job", fd, (int)pid);
	else
		snprintf(who, cap, "no process of the job");
}

/* e's pair has its other end, socket peer, outside what a restore
 * makes: said, naming both */
static int pair_refuse(const struct job_sock *v, size_t n, const struct job_sock *e, uint64_t peer)
{
	const struct job_sock *o = sock_held(v, n, peer, 1);
	char who[128];

	if (o)
		snprintf(who, sizeof who, "fd %d of pid %d, which a restore attaches to its own stdio",
			 o->fd, (int)o->pid);
	else
		holder_words(peer, who, sizeof who);
	warn("pid %d fd %d: unix socket %llu is one end of a socket pair whose other end, socket %llu, is %s: a restore could not make the pair: refused",
	     (int)e->pid, e->fd, (unsigned long long)e->ino, (unsigned long long)peer, who);
	return -1;
}

/* e, an end the restore makes: its peer in the job, naming e back */
static int pair_check(const struct job_sock *v, size_t n, const struct job_sock *e)
{
	struct sock_unix_info u, pu;

	if (sock_held(v, n, e->ino, 1) || sock_unix_seen(e->ino, &u) < 0 || !u.peer || u.named)
		return 0;   /* leads outside, not unix, not connected, or named */
	if (sock_unix_seen(u.peer, &pu) < 0 || pu.named)
		return 0;   /* a connection to a named socket: not a pair */
	if (!sock_held(v, n, u.peer, 0))
		return pair_refuse(v, n, e, u.peer);
	if (pu.peer != e->ino) {
		warn("pid %d fd %d: unix socket %llu is connected to socket %llu, which is connected to socket %llu: not a pair a restore can make: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, (unsigned long long)u.peer,
		     (unsigned long long)pu.peer);
		return -1;
	}
	return 0;
}

/* every connection waiting in listener e's backlog is from a socket of
 * the job (else it would be lost, its client outside told nothing) */
static int listener_check(const struct job_sock *v, size_t n, const struct job_sock *e,
			  const struct sock_unix_info *u)
{
	uint64_t c[SOCK_PENDING_MAX];
	int k = sock_unix_pending(e->ino, c, SOCK_PENDING_MAX), i;
	char who[128];

	if (k > SOCK_PENDING_MAX) {
		warn("pid %d fd %d: listening unix socket %llu (%s) has %d connections waiting in its backlog, more than %d: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, u->name, k, SOCK_PENDING_MAX);
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (sock_held(v, n, c[i], 0))
			continue;
		if (!c[i]) {
			warn("pid %d fd %d: listening unix socket %llu (%s) has a connection waiting in its backlog whose client has closed it: what it sent could not be read back without accepting it: refused",
			     (int)e->pid, e->fd, (unsigned long long)e->ino, u->name);
			return -1;
		}
		holder_words(c[i], who, sizeof who);
		warn("pid %d fd %d: listening unix socket %llu (%s) has a connection waiting in its backlog from socket %llu, %s: a restore could not make it again: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, u->name, (unsigned long long)c[i], who);
		return -1;
	}
	return 0;
}

/* A connection that waits in a backlog: its listener in the job, and
 * nothing sent on it yet (the bytes wait in the server's end, which
 * has no file until accept(2): nothing can read them but the server) */
static int waiting_check(const struct job_sock *v, size_t n, const struct job_sock *e,
			 const struct sock_unix_info *u)
{
	uint64_t l = sock_unix_listener(e->ino);
	char who[128];

	if (!l)
		return 0;
	if (!sock_held(v, n, l, 0)) {
		holder_words(l, who, sizeof who);
		warn("pid %d fd %d: unix socket %llu waits in the backlog of listening socket %llu, %s: a restore could not connect it again: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, (unsigned long long)l, who);
		return -1;
	}
	if (u->wqueue) {
		warn("pid %d fd %d: unix socket %llu has sent bytes on a connection not accepted yet (in the backlog of socket %llu): nothing can read them back without accepting it: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, (unsigned long long)l);
		return -1;
	}
	return 0;
}

/* the shim's own control sockets (doc/design.md): its listener and
 * the connections it accepted share the name it was bound to,
 * "/proc/self/fd/D/NAME" (lib/sockdir.h); ckpt-dumpfds never lists them */
static int shim_sock(const struct sock_unix_info *u)
{
	unsigned long pid, ns;
	unsigned d;
	int end = 0;

	return u->named && sscanf(u->name, "/proc/self/fd/%u/%n", &d, &end) == 1 && end > 0 &&
	       sockdir_name_parse(u->name + end, &pid, &ns) == 0;
}

/* The stream and seqpacket connections to a peer outside the job, by
 * inode: a restore makes each reset (sockjob.h) */
static uint64_t out[SOCK_OUT_MAX];
static unsigned nout;

static int out_add(const struct job_sock *e, const struct sock_unix_info *u, uint64_t peer,
		   const char *peer_name, const char *who)
{
	unsigned i;

	for (i = 0; i < nout; i++)
		if (out[i] == e->ino)
			return 0;
	if (nout < SOCK_OUT_MAX) {
		out[nout++] = e->ino;
		return 0;
	}
	warn("pid %d fd %d: unix socket %llu%s%s%s is connected to socket %llu (%s), %s: more than %d such connections to outside the job: refused",
	     (int)e->pid, e->fd, (unsigned long long)e->ino, u->named ? " (" : "", u->name,
	     u->named ? ")" : "", (unsigned long long)peer, peer_name, who, SOCK_OUT_MAX);
	return -1;
}

int job_socks_out_write(FILE *f)
{
	unsigned i;

	for (i = 0; i < nout; i++)
		if (fprintf(f, "sockout %llu\n", (unsigned long long)out[i]) < 0)
			return -1;
	return 0;
}

/* A named socket's connection (the peer of a client, an accepted
 * socket's client), a listener's backlog, a waiting connection's
 * listener: in the job.  A connection to a peer outside the job (a
 * server's, or a client's to the job's server) comes back reset: the
 * server's end, its queue and whatever the server keeps of the
 * conversation cannot come back, and the program's own reconnect logic
 * is the honest way (formats/fds.md): listed for the manifest.  A datagram
 * socket connected to a name outside has no conversation: it is
 * connected to the name again, when nothing is queued to it. */
static int named_check(const struct job_sock *v, size_t n, const struct job_sock *e)
{
	struct sock_unix_info u, pu;
	char who[128];

	if (sock_held(v, n, e->ino, 1) || sock_unix_seen(e->ino, &u) < 0 || shim_sock(&u))
		return 0;
	if (u.state == 10)
		return listener_check(v, n, e, &u);
	if (!u.peer && u.state == 1 && u.type != SOCK_DGRAM)
		return waiting_check(v, n, e, &u);
	if (!u.peer || sock_held(v, n, u.peer, 0) || sock_unix_seen(u.peer, &pu) < 0 ||
	    (!u.named && !pu.named))
		return 0;   /* not connected, in the job, or a pair (pair_check) */
	holder_words(u.peer, who, sizeof who);
	if (u.type == SOCK_DGRAM && pu.named && !(u.has_rq && u.rqueue))
		return 0;   /* connected again to the name (a syslog socket) */
	if (u.type == SOCK_DGRAM && pu.named) {
		warn("pid %d fd %d: unix socket %llu has messages queued from socket %llu (%s), %s: they could not be sent again from there: refused",
		     (int)e->pid, e->fd, (unsigned long long)e->ino, (unsigned long long)u.peer,
		     pu.name, who);
		return -1;
	}
	return out_add(e, &u, u.peer, pu.named ? pu.name : "unnamed", who);
}

int job_socks_check(const struct job *j)
{
	struct job_sock *v = NULL;
	size_t n = 0, cap = 0, i;
	unsigned p;
	int r = 0;

	for (p = 0; p < j->n && r == 0; p++)
		if (!j->v[p].zombie)
			r = socks_of(j->v[p].pid, p == 0, &v, &n, &cap);
	if (r == 0)
		held_index(v, n);
	for (i = 0; i < n && r == 0; i++)
		if (!v[i].outside && sock_held(v, n, v[i].ino, 0) == &v[i])
			r = pair_check(v, n, &v[i]) < 0 ? -1 : named_check(v, n, &v[i]);
	u64index_free(&held[0]);
	u64index_free(&held[1]);
	free(v);
	return r;
}
