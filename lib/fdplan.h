/* fdplan.h - the open fds of a process to restore, from proc/PID/fds,
 * files/FD and pipes/INODE (formats/fds.md).  ckpt-thaw makes every fd
 * in itself first (so an error names the fd and leaves no process),
 * then the new process moves them to their numbers (fdplan_install). */
#ifndef CKPT_FDPLAN_H
#define CKPT_FDPLAN_H
#include <stddef.h>
#include <stdint.h>

struct stream;
struct rules;

struct fd_ent {
	int fd;
	char kind[16];
	int cloexec, flags, dup;   /* dup: the lower fd it shares with, or -1 */
	uint64_t pos, size;
	char *path;                /* unescaped; the restart path if any */
	char *orig;                /* the path at the checkpoint */
	char *data;                /* "files/N", "pipes/INODE", or NULL */
	char *name;                /* memfd name */
	char end[4];               /* pipe end: r, w, rw */
	uint64_t pipe, sock, peer; /* inodes */
	uint64_t count, sigmask, seals;
	int semaphore, clock, tflags, pipesz, tty;
	int truncate;              /* cut the file back to size first */
	int socktype, unix_domain; /* SOCK_*, and domain=unix */
	char value[32], interval[32]; /* timerfd, SEC.NSEC */
	int src;                   /* ckpt-thaw's fd that becomes fd */
};

struct fd_epoll {             /* an "epoll EPFD TFD" line */
	int epfd, tfd;
	uint32_t events;
	uint64_t data;
};

struct fd_blob {              /* a data member: its file or its bytes */
	char name[64];
	int fd;                    /* deleted/memfd: the new file */
	char *bytes;               /* pipes: the queued bytes */
	size_t len;
	int used;
};

struct fd_pipe {              /* the pipe made for one inode */
	uint64_t ino;
	int r, w, has_r, has_w;
};

struct fdplan {
	struct fd_ent *v;
	unsigned n;
	struct fd_epoll *ep;
	unsigned nep;
	struct fd_blob *blob;
	unsigned nblob;
	struct fd_pipe *pipe;
	unsigned npipe;
	int *held;                 /* peer ends ckpt-thaw keeps open */
	unsigned nheld;
	int maxfd;
};

struct fd_attach {            /* where stdio outside the job goes */
	const char *stdin_path;    /* --stdin, or NULL */
	int from_file;             /* the image came from a file argument */
};

/* All return 0, or -1 after a message naming the pid and fd/member. */
int fdplan_parse(struct fdplan *p, int pid, char *text);
/* restart paths from rules given at restart (ckpt-thaw --files-rules):
 * a rule that matches a file's checkpoint path and names a
 * RESTART_PATH moves it there; files whose contents are in the image
 * are made from them wherever they were */
int fdplan_rules(struct fdplan *p, int pid, const struct rules *r);
/* the data member sub ("files/7", "pipes/123") of proc/pid, current in s */
int fdplan_data(struct fdplan *p, int pid, const char *sub, struct stream *s);
int fdplan_open(struct fdplan *p, int pid, const struct fd_attach *at);
/* In the new process: every src to its fd, all else closed but keep[]
 * (nkeep fds, moved above every restored fd, new numbers written
 * back).  Async-signal-safe; -errno, with *badfd the fd. */
int fdplan_install(struct fdplan *p, int *keep, int nkeep, int *badfd);
void fdplan_free(struct fdplan *p);

#endif
