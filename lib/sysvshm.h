/* sysvshm.h - SysV shared memory segments as /proc/sysvipc/shm shows
 * them, and the proc/PID/sysvshm member (formats/memory.md) */
#ifndef CKPT_SYSVSHM_H
#define CKPT_SYSVSHM_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps.h"

#define SYSVSHM_DEST 01000     /* the kernel's SHM_DEST: IPC_RMID done,
                                * gone at the last detach */

struct sysvshm_seg {
	int id;
	uint32_t key;
	uint64_t size;
	unsigned mode;             /* permission bits, SHM_DEST, SHM_LOCKED */
	unsigned uid, gid, cuid, cgid;
};

/* 1 when r is an attached SysV segment ("/SYSV%08x (deleted)"; its
 * inode is the shmid) */
int map_is_sysv(const struct map_region *r);
/* segment id in this IPC namespace: 0, -ENOENT, or -errno */
int sysvshm_find(int id, struct sysvshm_seg *seg);
/* 1 when one of the n regions is a SysV segment */
int sysvshm_any(const struct map_region *r, size_t n);
/* The member's text: one line per segment attached in r, in the order
 * of its first region.  0, or -1 after a message naming pid */
int sysvshm_write(FILE *f, int pid, const struct map_region *r, size_t n);

#endif
