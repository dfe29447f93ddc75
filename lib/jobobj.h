/* jobobj.h - the shared memory objects of a job restore
 * (formats/memory.md, "Shared between the processes of a job"): one
 * object per object of the ckpt/shm member, made by ckpt-thaw before
 * the first process that maps it is built, with the job's ids; every
 * view of every process mapped from it (a memfd handed to the process
 * with its fds, or a SysV segment attached by id), so that a write in
 * one process is seen by the others. */
#ifndef CKPT_JOBOBJ_H
#define CKPT_JOBOBJ_H
#include <stdint.h>
#include <sys/types.h>

#include "fdplan.h"
#include "imageread.h"

struct jobobj {
	uint64_t dev, ino;         /* the maps lines' MAJ:MIN and INODE */
	uint64_t size;             /* what ckpt/shm says */
	pid_t *pid;                /* the processes that map it */
	unsigned char *mapped;     /* per pid: a view of it was planned */
	unsigned npid;
	int src;                   /* enum mem_src of its first view, or 0 */
	int fd;                    /* the memfd made, or -1 */
	int shmid;                 /* the SysV segment made, or -1 */
	void *at;                  /* ckpt-thaw's own attach of it, until
	                            * every process has its own */
	unsigned mode;             /* SysV: its permission bits, given it
	                            * once every process has attached it
	                            * (owner rw until then) */
	uint64_t end;              /* the largest view end planned */
	int filled;                /* an fd on it gave it the file's size
	                            * and saved contents */
	struct jobfs *fs;          /* a deleted file's: the helper that made
	                            * it, which can open it by name until the
	                            * commit (fdplan_reopen), else NULL */
};

struct jobobj_fd {             /* an object's fd handed to a process */
	int fd;                    /* its number there (the restorer closes it) */
	unsigned obj;
};

/* a region of shared memory an earlier process mapped, not in ckpt/shm:
 * a later process mapping it too is an error (its pages are not all
 * in its own dump) */
struct jobobj_seen {
	uint64_t dev, ino;
	pid_t pid;
};

/* an open file description on an object: what an fd of the image on
 * it (a memfd kept open, the deleted file) becomes, for every process
 * that shares that description */
struct jobobj_desc {
	int was;                   /* the fdplan's own file for it (a copy of
	                            * the saved contents), to know it again */
	int fd;                    /* ours, on the object */
};

struct jobobjs {
	struct jobobj *v;
	unsigned n;
	struct jobobj_desc *desc;
	unsigned ndesc;
	struct jobobj_fd *cur;     /* the process being planned */
	unsigned ncur;
	struct jobobj_seen *seen;
	unsigned nseen;
};

/* Each returns 0, or -1 after a message naming the member, pid and
 * object. */
/* The member after the manifest: ckpt/shm, each line checked against
 * the manifest, or none (the member read is then held: in->held) */
int jobobj_read(struct jobobjs *o, struct img_in *in, const struct img_manifest *m);
/* Process p's views of the job's objects (its maps read): each checked
 * against ckpt/shm, the object made at its first view (as p's ids
 * when root restores another uid: asjob), the regions turned into
 * PLAN_JOB_FD or PLAN_JOB_SYSV. */
int jobobj_plan(struct jobobjs *o, struct img_proc *p, int asjob);
/* p's fds plus the fds of the objects it maps (jobobj_plan), for
 * tree_become: *out shares p's entries, free out->v only.  An fd of
 * p's on an object (a memfd kept open, the deleted file) becomes an
 * open file description on the object (its offset and status flags,
 * one for all that share it), so that the fd and the maps stay one
 * file; the object then takes the file's size and saved contents. */
int jobobj_fds(struct jobobjs *o, const struct fdplan *p, struct fdplan *out);
/* every process planned: each object mapped by every process ckpt/shm
 * names, and its size the largest end of its views */
int jobobj_check(const struct jobobjs *o);
/* every process has mapped its views: ckpt-thaw's fds and attaches go */
void jobobj_release(struct jobobjs *o);
void jobobj_free(struct jobobjs *o);

#endif
