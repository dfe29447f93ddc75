/* fdpass.h - one message with fds riding along (SCM_RIGHTS) over a
 * unix socket, whole (SOCK_SEQPACKET keeps its bounds) */
#ifndef CKPT_FDPASS_H
#define CKPT_FDPASS_H
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FDPASS_MAX 250   /* fds in one message: the kernel takes 253 */

/* nfds fds as the SCM_RIGHTS of mh, in cbuf (room for them); no
 * libc beyond memset and memcpy: the shim's frozen paths use it too */
static inline void cmsg_put_fds(struct msghdr *mh, char *cbuf, const int *fds, int nfds)
{
	struct cmsghdr *cm;

	memset(cbuf, 0, CMSG_SPACE(sizeof(int) * nfds));
	mh->msg_control = cbuf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

/* len bytes of buf, and nfds (<= FDPASS_MAX) fds: 0, or -errno */
int fds_send(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* one message into buf (at most len bytes), its fds into fds (room for
 * *nfds; those beyond are closed; *nfds set to how many came, each
 * close-on-exec): the bytes, 0 at the peer's end, or -errno */
ssize_t fds_recv(int sock, void *buf, size_t len, int *fds, int *nfds);

#endif
