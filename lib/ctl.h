/* ctl.h - the tools' side of the control protocol (proto.h) */
#ifndef CKPT_CTL_H
#define CKPT_CTL_H
#include <stddef.h>
#include <sys/types.h>

#include "proto.h"

/* Connect to pid's shim.  On failure returns -1 after printing
 * "pid N: ..." with the reason (no such process, no shim, refused,
 * another uid). */
int ctl_open(pid_t pid);

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
 * ctl_recv returns -EAGAIN when the socket's 10 s timeout passes, and
 * may then be called again. */
int ctl_send(int sock, const struct ctl_call *c);
int ctl_recv(int sock, struct ctl_call *c);

/* shorthand for a request with no payload and no fds */
int ctl_simple(int sock, uint32_t op, uint64_t arg, struct ckpt_rep *rep);

#endif
