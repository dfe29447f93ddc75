/* jobshm.h - memory that the processes of a job share
 * (formats/memory.md, "Shared between the processes of a job") */
#ifndef CKPT_JOBSHM_H
#define CKPT_JOBSHM_H

#include "job.h"

/* Memory that two processes of the job share and that only memory
 * holds (MAP_SHARED anonymous, memfd, SysV, a deleted file's shared
 * map): refused, naming both pids, the object and why.  A deleted
 * file's map and a SysV segment not marked for removal are refused for
 * good (no restore can make them again as they were); the others until
 * ckpt-thaw makes one object for the whole job.  A shared map of a file
 * that exists is not refused: the file is the one object.  restorable
 * (ckpt-freeze --kill): a SysV segment not marked for removal is
 * refused even in one process, since a restore would map a copy of it
 * while the segment itself lives on.  0, or -1 after a message. */
int job_shm_check(const struct job *j, int restorable);

#endif
