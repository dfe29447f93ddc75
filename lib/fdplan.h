/* fdplan.h - the open fds of a process to restore, from proc/PID/fds,
 * files/FD and pipes/INODE (formats/fds.md).  ckpt-thaw makes every fd
 * in itself first (so an error names the fd and leaves no process),
 * then the new process moves them to their numbers (fdplan_install). */
#ifndef CKPT_FDPLAN_H
#define CKPT_FDPLAN_H
#include "u64index.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fdkind.h"
#include "inetplan.h"
#include "jobfs.h"

struct stream;
struct rules;
struct img_core;
struct memplan;
struct sock_pair;
struct tcp_end;
struct udp_sock;
struct tcp_wait;
struct pty_pair;
struct ux_job;

/* one fd to restore, from its fd line (what ckpt-dumpfds wrote from
 * its struct fd_dump) */
struct fdplan_fd {
	int fd;
	char kind[16];             /* as the image names it, for messages */
	enum fd_kind k;            /* FD_UNKNOWN: a name this tree does not know */
	int cloexec, flags, dup;   /* dup: the lower fd it shares with, or -1 */
	uint64_t pos, size;
	char *path;                /* unescaped; the restart path if any */
	char *orig;                /* the path at the checkpoint */
	char *data;                /* "files/N", "pipes/INODE", "socks/INODE", "ptys/N", or NULL */
	char *name;                /* memfd name */
	char *holes;               /* a saved file's holes, "OFF+LEN,...", or NULL */
	char end[4];               /* pipe end: r, w, rw */
	char addr[128];            /* a socket's own address, escaped, cut: for messages */
	uint64_t pipe, sock, peer; /* inodes */
	uint64_t count, sigmask, seals;
	int semaphore, clock, tflags, pipesz, tty;
	int truncate;              /* cut the file back to size first */
	int trunc_fd;              /* ... through this fd, at the commit */
	int restart;               /* a restart= key */
	uint64_t dev, ino, rdev;   /* the file (and device) at the checkpoint */
	unsigned mode;             /* st_mode at the checkpoint */
	int socktype, unix_domain; /* SOCK_*, and domain=unix */
	int shut;                  /* unix_diag's shutdown: 1 RCV, 2 SEND */
	int passcred;              /* SO_PASSCRED: reads get SCM_CREDENTIALS */
	int other_closed;          /* a pipe end whose other end is open nowhere */
	int peer_closed;           /* a unix socket whose peer was closed */
	struct inet_keys inet;     /* a TCP or UDP socket's (inetplan.h) */
	char *sun_own, *sun_peer;  /* a unix socket's address and its peer's
	                            * (addr=, peer=: a path, or @NAME), or NULL */
	int listening, backlog;    /* listen=1, and its backlog= */
	uint64_t listener;         /* a connection waiting in that backlog */
	int accepted;              /* accepted=: 1 accept(2)'s end, 0 the
	                            * client's, -1 not said */
	char *pending;             /* a listener's: "INO,..." in accept order */
	int has_sockfile;          /* sockfile=: its path led to it, and */
	unsigned sockfile;         /* ... this was its file's mode */
	char value[32], interval[32]; /* timerfd, SEC.NSEC */
	char abs[32];              /* timerfd set TFD_TIMER_ABSTIME: its time */
	uint64_t ticks;            /* timerfd: expirations not yet read */
	int target;                /* pidfd: its process's pid, 0: ended */
	uint64_t target_start;     /* ... its start time, on boot */
	char boot[40];
	char nstype[16];           /* ns: net, uts, pid, ... */
	int deleted;               /* dir, symlink: removed since the open */
	int nlink;                 /* deleted: links its inode still had */
	int src;                   /* ckpt-thaw's fd that becomes fd */
	pid_t share_pid;           /* share=PID:FD: the open file of fd FD of */
	int share_fd;              /* process PID, earlier in the job; or 0 */
	int pty;                   /* ptmx, pts: the pair's index, -1: none */
	int pty_lock, pty_pkt;     /* ptmx: locked, packet mode */
	int pty_sid, pty_fg;       /* ptmx: its slave's session, foreground
	                            * group; pts: fg, with */
	int pty_ctty;              /* pts: the process's controlling terminal */
	char termios[160];         /* ptmx, pts: as pty.h writes it, or "" */
	char winsize[48];
};

struct fd_epoll {             /* an "epoll EPFD TFD" line */
	int epfd, tfd;
	int file;                  /* the fd holding the watched file now
	                            * (file=; tfd when absent), -1: none */
	uint32_t events;
	uint64_t data;
};

struct fd_watch {             /* an "inotify FD wd=N ..." line */
	int fd, wd;
	uint32_t mask;
	uint64_t dev, ino;         /* what it watches */
	char *path;                /* a path to it, found at the checkpoint */
};

/* the largest watch descriptor a restore makes again: it spends every
 * number before it (formats/fds.md) */
#define FD_WATCH_WD_MAX 65536

struct fd_lock {              /* a "lock FD ..." line (formats/fds.md) */
	int fd;
	int class;                 /* FD_LOCK_* */
	int write;                 /* a write (exclusive) lock, else read */
	int64_t start, len;        /* len 0: to the end of the file */
};

enum { FD_LOCK_POSIX = 1, FD_LOCK_FLOCK, FD_LOCK_OFD };

struct fd_blob {              /* a data member: its file or its bytes */
	char name[64];
	int fd;                    /* file/deleted/memfd: the new file */
	char *place;               /* file: the path it takes at the commit */
	char *bytes;               /* pipes: the queued bytes */
	size_t len;
	int used;
};

struct fd_pipe {              /* the pipe made for one inode */
	uint64_t ino;
	int r, w, has_r, has_w;
	int no_r, no_w;       /* that end was open nowhere at the checkpoint */
};

/* What the fd plans of one job share (formats/fds.md, "Shared between
 * processes"): the processes read so far, for share=PID:FD, and one
 * pipe per inode across the job, whose ends ckpt-thaw keeps until the
 * go (fdjob_settle). */
struct fdjob {
	struct fdplan **plan;
	pid_t *pid;
	unsigned n;
	struct fd_pipe *pipe;
	unsigned npipe;
	int *held;                 /* ends no process of the job has */
	unsigned nheld;
	struct sock_pair *pair;    /* one socketpair per unix pair (sockplan.h) */
	struct u64index pair_of;   /* ... the first with an end of each inode */
	unsigned npair;
	struct tcp_end *tcp;       /* connections between processes (inetplan.h) */
	unsigned ntcp;
	struct udp_sock *udp;      /* UDP sockets, queues sent at the settle */
	unsigned nudp;
	struct tcp_wait *tcpw;     /* clients waiting in a backlog (tcpwait.h) */
	unsigned ntcpw;
	struct pty_pair *pty;      /* one pseudo-terminal per pair (ptyplan.h) */
	unsigned npty;
	struct ux_job *ux;         /* named unix sockets (unixsock.h) */
	unsigned nprocs;           /* the processes of the manifest */
	const uint64_t *sockout;   /* the manifest's sockout lines: unix */
	unsigned nsockout;         /* ... sockets restored reset (sockplan.c) */
};

struct fdplan {
	int pid;                   /* the process whose fds these are */
	struct fdplan_fd *v;
	unsigned n;
	struct fd_epoll *ep;
	unsigned nep;
	struct fd_lock *lock;
	unsigned nlock;
	struct fd_watch *watch;
	unsigned nwatch;
	struct fd_blob *blob;
	unsigned nblob;
	struct u64index blobs;     /* blob by its name's u64index_hash */
	struct u64index datas;     /* the first line with data=NAME, by ... */
	struct u64index socks;     /* the last socket line of each inode, */
	unsigned socks_n;          /* ... made when there were this many lines */
	int maxfd;
	const struct img_core *job; /* whose file work it is (fdplan_bind) */
	struct memplan *mem;       /* told of each saved file (memplan_own) */
	struct jobfs fs;           /* the job's hands, started at first use */
	pid_t feeder;              /* feeds stdin its saved bytes, or 0 */
	struct fdjob *shared;      /* what it shares with the job (fdjob_add) */
	int first;                 /* the job's first process (its root) */
	int ctty, ctty_fd;         /* its fd ctty_fd becomes the controlling */
	int ctty_fg;               /* terminal of its session, with this
	                            * foreground group (ptyplan.h) */
};

struct fd_attach {            /* where stdio outside the job goes */
	const char *stdin_path;    /* --stdin, or NULL */
	int from_file;             /* the image came from a file argument */
	int term_fd;               /* --pty: the new terminal's slave, for
	                            * stdio that was on a terminal; 0: none */
};

/* All return 0, or -1 after a message naming the pid and fd/member. */
int fdplan_parse(struct fdplan *p, int pid, char *text);
/* NULL when a restore knows how to make e's kind and what that needs
 * is there, else why not (restorable.h's fd_why_not adds the fds that
 * lead outside the job) */
const char *fdplan_kind_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* the job's helper for file work (jobfs.h), started at its first use:
 * 0, or -1 after a message naming pid */
int fdplan_fs_ready(struct fdplan *p, int pid);
/* after the parse: the process whose ids do the file work, and the
 * memory plan to tell of each file the restore writes back */
void fdplan_bind(struct fdplan *p, const struct img_core *job, struct memplan *mem);
/* restart paths from rules given at restart (ckpt-thaw --files-rules):
 * a rule that matches a file's checkpoint path and names a
 * RESTART_PATH moves it there; files whose contents are in the image
 * are made from them wherever they were */
int fdplan_rules(struct fdplan *p, int pid, const struct rules *r);
/* the data member sub ("files/7", "pipes/123", "socks/9") of proc/pid, current in
 * s: a file's contents go into a new unnamed file beside it, made by the
 * job; nothing is written at its path yet */
int fdplan_data(struct fdplan *p, int pid, const char *sub, struct stream *s);
/* every fd made in ckpt-thaw (p is in a job: fdjob_add): files,
 * directories, fifos and the devices formats/fds.md lists opened by
 * the job (jobfs.h), nothing written */
int fdplan_open(struct fdplan *p, int pid, const struct fd_attach *at);
/* The only writing a restore does, once every check has passed and
 * just before the process may run: each saved file takes its path
 * (all or none), TRUNCATE=1 logs are cut back; the job's helper is gone
 * on return.  0, or -1 after a message naming the fd and path. */
int fdplan_commit(struct fdplan *p, int pid);
/* In the new process: every src to its fd, all else closed but keep[]
 * (nkeep fds, moved above every restored fd, new numbers written
 * back).  Async-signal-safe; -errno, with *badfd the fd. */
int fdplan_install(struct fdplan *p, int *keep, int nkeep, int *badfd);
/* A new description of fd's file (a file the job's helper made for
 * saved contents), with flags; with O_NOFOLLOW, which an open through
 * /proc/self/fd refuses (a link), through the name the file has until
 * the commit, as the job (fs), while that is still the file; else
 * through /proc/self/fd, without it.  The fd, or -1 (errno). */
int fdplan_reopen(struct jobfs *fs, int fd, int flags);
/* In the new process, once fdplan_install is done: each lock taken
 * again, never waiting (a POSIX lock is the process's, and a close of
 * any fd on the file drops it; a flock names the pid that took it in
 * /proc/locks).  Async-signal-safe; -errno, *bad the lock's index. */
int fdplan_locks(const struct fdplan *p, unsigned *bad);
/* "POSIX", "flock", "OFD" by FD_LOCK_* */
extern const char *const fdplan_lock_class[];
/* p, the fds of process pid, is part of job (after fdplan_parse): its
 * share= lines name fds of the processes added before it; pipes are
 * one per inode across the job.  0, or -1 (out of memory) */
int fdjob_add(struct fdjob *job, pid_t pid, struct fdplan *p);
/* Every process of the job has its fds: a pipe end that none has is
 * kept in ckpt-thaw (no EOF, no EPIPE the job would not have seen),
 * the others closed; socket pairs checked and shut down as they were
 * (sockplan_settle).  0, or -1 after a message */
int fdjob_settle(struct fdjob *job);
void fdjob_free(struct fdjob *job);

/* the data member named name ("socks/9", ...) as read, or NULL */
struct fd_blob *blob_find(struct fdplan *p, const char *name);
/* ckpt-thaw's copies of the fds it made, and the files it made for
 * saved contents, closed (kept until every process of a tree has its
 * own: a later one may share them; and after fdplan_commit) */
void fdplan_close_srcs(struct fdplan *p);
void fdplan_free(struct fdplan *p);

#endif
