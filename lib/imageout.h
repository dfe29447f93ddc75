/* imageout.h - writing the text members that say what a process is:
 * ckpt/manifest, proc/PID/core and proc/PID/threads (formats/manifest.md,
 * core.md, threads.md).  Their reader is image.h. */
#ifndef CKPT_IMAGEOUT_H
#define CKPT_IMAGEOUT_H
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

#include "kproc.h"
#include "proto.h"

/* What a core is made of: the shim's record and the fds that came with
 * CKPT_OP_PROC (its memory, maps, auxv), and the kernel's own view of
 * the process (ids, pids, credentials, the executable). */
struct core_src {
	const struct ckpt_proc_rec *rec;
	int fds[CKPT_PROCFD_COUNT];
	pid_t pid;
	const struct kproc *k;
	uint32_t securebits;       /* the main thread's, from its record */
	int kill;              /* ckpt-freeze --kill: the manifest says so */
	const char *id;        /* the manifest's id (image_id_new) */
	const char *parent;    /* the parent image's id, or NULL: a full image */
	struct timespec time;  /* the manifest's time; 0: now */
};

/* a new image id: 32 lowercase hex digits of /dev/urandom, and a NUL */
void image_id_new(char *out);

/* Each writes its member's text to f; 0, or -1 after a message.
 * manifest_write writes the lines up to `root` (src->pid, src->kill):
 * the job's proc and zombie lines are the caller's. */
int manifest_write(FILE *f, const struct core_src *src);
int core_write(FILE *f, const struct core_src *src);
int threads_write(FILE *f, const struct kproc *k, const struct ckpt_thread_rec *t, unsigned n);

#endif
