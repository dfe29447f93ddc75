/* jobshm.h - memory that the processes of a job share
 * (formats/memory.md, "Shared between the processes of a job"), as
 * ckpt-freeze finds it: the ckpt/shm member */
#ifndef CKPT_JOBSHM_H
#define CKPT_JOBSHM_H
#include <stdint.h>
#include <stdio.h>

#include "job.h"

/* one object of memory only (MAP_SHARED anonymous, memfd, SysV, the
 * shared map of a deleted file) mapped by several processes */
struct jobshm_obj {
	unsigned dev_major, dev_minor;
	uint64_t inode;
	uint64_t size;             /* the largest offset + length of a view */
	pid_t *pid;                /* the processes that map it, stream order */
	unsigned npid;
};

struct jobshm {
	struct jobshm_obj *v;      /* in the order of their first views */
	unsigned n;
};

/* Every object of memory only that two processes of the job map, into
 * *out.  Refused, naming both pids and the object: a SysV segment not
 * marked for removal shared by two (no restore can give it its id
 * again), or of which a process maps only a part (a restore attaches
 * it whole); shared MAP_HUGETLB memory; an object a process of the
 * job also holds open as an fd (its file would come back apart).  restorable (ckpt-freeze --kill): such a segment is refused
 * even in one process, since a restore would map a copy of it while
 * the segment itself lives on.  A shared map of a file that exists is
 * not an object here: the file is the one object.  0, or -1 after a
 * message (*out empty). */
int job_shm_check(const struct job *j, int restorable, struct jobshm *out);
/* the ckpt/shm member's text (member_from): one line per object */
int jobshm_write(FILE *f, const void *jobshm);
void jobshm_free(struct jobshm *s);

#endif
