/* imageread.h - an image read front to back for a restore
 * (formats/stream.md): the manifest, then each process's members up to
 * the header of its pages, parsed and checked against each other and
 * this machine; nothing is made but the saved files' new copies
 * (lib/fdplan.c).  What belongs to the whole job (the stream, the
 * manifest, who vouches for the image) is apart from what one process
 * holds, so that a job has one img_in and an img_proc per process. */
#ifndef CKPT_IMAGEREAD_H
#define CKPT_IMAGEREAD_H
#include <sys/types.h>

#include "coreread.h"
#include "fdplan.h"
#include "memplan.h"
#include "stream.h"

struct img_in {                /* the job's */
	struct stream st;
	struct img_manifest man;
	int trust_image;           /* --trust-image: root takes its ids */
	int from_file;             /* the stream is a file argument: its
	                            * owner vouches for it (creds_trust) */
	int vouch;                 /* 1: vouch_fd's owner vouches, not the
	                            * stream's (a chain: its links' owner) */
	int vouch_fd;
	struct fdjob fdjob;        /* what the processes' fds share */
	int held;                  /* 1: the current member's header is read
	                            * but the member not yet taken (a job
	                            * member's reader looked past its end):
	                            * img_proc_read starts with it */
};

struct img_proc {              /* one process, as read */
	struct img_core core;
	struct img_thread *thr;
	unsigned nthr;
	struct plan_timer *timers;  /* POSIX timers (formats/timers.md) */
	unsigned ntimers;
	struct fdplan fds;
	struct memplan mem;
	int have;                  /* which members were read (imageread.c) */
	int vouched;               /* img_proc_vouch passed */
};

/* Each returns 0, or -1 after a message naming the member. */
/* the first member: the manifest, checked against this machine */
int img_manifest_read(struct img_in *in);
/* the members of process pid, up to the header of its pages (current
 * in in->st then), each once and in order, checked */
int img_proc_read(struct img_in *in, struct img_proc *p, pid_t pid);
/* what the image claims, against who vouches for it (doc/design.md,
 * Trust): once the core and threads are read, before any file work */
int img_proc_vouch(struct img_in *in, struct img_proc *p);
/* what the reading made; fdplan_free also closes the fds held */
void img_proc_free(struct img_proc *p);

#endif
