/* sockdiag.h - one query to the kernel's sock_diag (NETLINK_SOCK_DIAG):
 * a request out, each answer to a callback, until the kernel says it
 * is done.  inetdump.c and sockdump.c ask it their own questions. */
#ifndef CKPT_SOCKDIAG_H
#define CKPT_SOCKDIAG_H
#include <stddef.h>

struct nlmsghdr;

/* Sends req (len bytes: an nlmsghdr and its family's request) on a
 * socket of its own (a question about one socket: on one kept for the
 * next such question) and gives each answer that is no NLMSG_DONE or
 * NLMSG_ERROR to got, until got returns nonzero: that value.  0 at
 * NLMSG_DONE, or, for a request without NLM_F_DUMP (one answer, no
 * NLMSG_DONE after it), after the first batch; -1 when the kernel does
 * not answer or answers NLMSG_ERROR (no such socket). */
int sockdiag_query(const void *req, size_t len,
		   int (*got)(const struct nlmsghdr *, void *), void *arg);

#endif
