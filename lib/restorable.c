/* restorable.c - whether a restore can make each fd of a plan: the one
 * judge ckpt-thaw (fdplan.c) and ckpt-dumpfds --restorable both go by.
 * What each kind needs is said in fdplan.c's table of kinds, beside
 * how it is made (formats/fds.md, "Restoring each kind"). */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "fdplan.h"
#include "restorable.h"

/* what a message calls an fd: its path, and a socket's own address as
 * the image records it (escaped), e.g. "socket:[81] (0.0.0.0:8000)";
 * in a static buffer, overwritten by the next call */
const char *fdplan_fd_name(const struct fdplan_fd *e)
{
	static char name[4096 + sizeof e->addr + 4];

	snprintf(name, sizeof name, "%s%s%s%s", e->orig ? e->orig : "",
		 e->addr[0] ? " (" : "", e->addr, e->addr[0] ? ")" : "");
	return name;
}

int fd_outside_job(const struct fdplan_fd *e)
{
	return e->fd <= 2 && (e->tty || e->k == FD_PIPE || e->k == FD_FIFO || e->k == FD_SOCKET);
}

const char *fd_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	return fd_outside_job(e) ? NULL : fdplan_kind_why_not(p, e);
}

static int has_fd(const struct fdplan *p, int fd)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].fd == fd)
			return 1;
	return 0;
}

int fdplan_check(const struct fdplan *p, int pid)
{
	const struct fdplan_fd *e;
	const char *why;
	unsigned i;
	int bad = 0;

	for (i = 0; i < p->n; i++) {
		e = &p->v[i];
		if ((why = fd_why_not(p, e))) {
			warn("pid %d: fd %d: %s %s: cannot be restored: %s", pid, e->fd,
			     e->kind, fdplan_fd_name(e), why);
			bad++;
		}
	}
	/* epoll keeps a registration under the fd number it was added
	 * with, which may have been closed since: the file must be in
	 * some fd of the process (file=), to be added under that number */
	for (i = 0; i < p->nep; i++) {
		if (p->ep[i].file < 0) {
			warn("pid %d: epoll fd %d: watches the file added as fd %d, closed since, and no fd of this process holds that file now: cannot be restored",
			     pid, p->ep[i].epfd, p->ep[i].tfd);
			bad++;
		} else if (!has_fd(p, p->ep[i].file)) {
			warn("pid %d: epoll fd %d: watches fd %d, which is not there: cannot be restored",
			     pid, p->ep[i].epfd, p->ep[i].file);
			bad++;
		}
	}
	return bad;
}

int fds_restorable(int pid, char *text)
{
	struct fdplan p;
	int r = fdplan_parse(&p, pid, text);

	if (r == 0)
		r = fdplan_check(&p, pid);
	fdplan_free(&p);
	return r;
}
