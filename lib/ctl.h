/* ctl.h - the tools' side of the control protocol (proto.h) */
#ifndef CKPT_CTL_H
#define CKPT_CTL_H
#include <stddef.h>
#include <sys/types.h>

#include "proto.h"

/* The socket directory of pid, whose euid is uid: $CKPT_SOCKDIR, else
 * the CKPT_SOCKDIR in the target's environment, else
 * ${XDG_RUNTIME_DIR:-/tmp}/ckpt-<uid>.  Only where to look: ctl_open
 * trusts it once it has checked it.  Writes it into buf; 0 or -errno. */
int ctl_sockdir(pid_t pid, uid_t uid, char *buf, size_t len);

/* Connect to pid's shim, authenticated: the directory is the target's
 * euid's own, 0700, reached with no symlink on the way, and the process
 * listening behind PID.sock is pid itself with that uid (SO_PEERCRED).
 * On failure returns -1 after printing "pid N: ..." with the reason (no
 * such process, no shim, the directory or the peer refused and why,
 * another uid). */
int ctl_open(pid_t pid);

/* ctl_open, silent: the socket, or -1 with *why saying what failed:
 * CTL_GONE (no such process), CTL_NOSHIM (no socket directory, no
 * socket, nobody listening, or the shim went away before its hello:
 * not yet or no longer serving, as between fork and the child's
 * handler, or during an exec), CTL_REFUSED (anything else; ctl_open
 * says what). */
enum { CTL_GONE = 1, CTL_NOSHIM, CTL_REFUSED };
int ctl_open_try(pid_t pid, int *why);

/* How long a reply may take: CTL_TIMEOUT_MS from ctl_open; a request
 * the shim itself times (a freeze) needs its own time on top. */
#define CTL_TIMEOUT_MS 10000
void ctl_timeout(int sock, unsigned ms);

/* One request and its reply.  payload/len and fds/nfds go out; the
 * reply's payload (at most *replen bytes) lands in reply and its fds in
 * rfds (at most *nrfds).  Returns rep.err (0 or -errno); *replen,
 * *nrfds and rep are filled in.  A transport failure is -errno too. */
struct ctl_call {
	uint32_t op;
	uint64_t arg;
	const void *payload;
	size_t len;
	const int *fds;
	int nfds;
	void *reply;       /* in: buffer, may be NULL */
	size_t replen;     /* in: its size; out: bytes received */
	int *rfds;         /* in: buffer for fds */
	int nrfds;         /* in: its size; out: fds received */
	struct ckpt_rep rep;
};
int ctl_call(int sock, struct ctl_call *c);
/* The two halves of ctl_call, for a request whose reply comes only
 * after the caller has done its part (CKPT_OP_PAGES: drain the pipe).
 * ctl_recv returns -EAGAIN when the socket's timeout passes, and may
 * then be called again. */
int ctl_send(int sock, const struct ctl_call *c);
int ctl_recv(int sock, struct ctl_call *c);

/* shorthand for a request with no payload and no fds */
int ctl_simple(int sock, uint32_t op, uint64_t arg, struct ckpt_rep *rep);

#endif
