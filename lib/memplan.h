/* memplan.h - the memory part of a restore plan (lib/plan.h), from the
 * proc/PID/maps, mapfiles and pagemap members (formats/memory.md):
 * each region with its kind, each mapped file checked against what the
 * checkpoint saw, each run of stored pages checked to lie in a region. */
#ifndef CKPT_MEMPLAN_H
#define CKPT_MEMPLAN_H
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct memplan {
	struct plan_region *reg;
	unsigned nreg;
	struct plan_run *run;
	unsigned nrun, run_cap;
	uint64_t run_bytes;
	char *strings;         /* paths, NUL-terminated; offset 0 is "" */
	size_t strings_len, strings_cap;
	uint64_t special[4][2]; /* vvar, vvar_vclock, vdso, vsyscall */
	struct memplan_own *own;
	unsigned nown;
	struct memplan_src *src;   /* per region: what memory it shares */
	struct memplan_seg *seg;   /* the SysV segments (proc/PID/sysvshm) */
	unsigned nseg;
};

struct memplan_seg {           /* a line of proc/PID/sysvshm */
	uint64_t id, size;
	unsigned mode;             /* permission bits, SHM_DEST, SHM_LOCKED */
};

/* What a region of memory only (no file to map again) was, for a
 * restore that makes one object for a whole job (lib/jobobj.c) */
enum mem_src {
	MEM_SRC_NONE,          /* not memory that can be shared */
	MEM_SRC_ANON,          /* MAP_SHARED|MAP_ANONYMOUS: /dev/zero (deleted) */
	MEM_SRC_MEMFD,         /* /memfd:NAME (deleted) */
	MEM_SRC_SYSV,          /* /SYSVKEY (deleted): a SysV segment */
	MEM_SRC_DELETED,       /* the shared map of a deleted file */
	MEM_SRC_OTHER,         /* shared memory a job object cannot be made
	                        * of (MAP_HUGETLB) */
	MEM_SRC_DELETED_PRIVATE, /* a private map of a deleted file: no job
	                        * object, a file of its own (jobobj.c) */
};

struct memplan_src {
	unsigned char kind;        /* enum mem_src */
	uint32_t name;             /* memfd: its name; deleted: its path
	                            * without "/" and " (deleted)"; in strings */
};

/* A file the restore writes back itself from the image (a saved
 * `file` fd): a mapping of it is checked against that copy, not against
 * the file at its path now, which the copy is about to replace, and the
 * restorer maps it through the restored process's fd FD. */
struct memplan_own {
	uint64_t dev, ino;         /* the file at the checkpoint */
	int fd;                    /* an fd of the process on the copy */
	uint64_t ndev, nino, size; /* the copy */
	int64_t mtime_sec, mtime_nsec;
};

struct stat;

/* All return 0, or -1 after a message naming pid and the member. */
int memplan_maps(struct memplan *m, int pid, char *text, size_t len);
/* before mapfiles: the file dev/ino comes back as the copy st, open as
 * the process's fd; 0 or -1 (out of memory) */
int memplan_own(struct memplan *m, uint64_t dev, uint64_t ino, int fd, const struct stat *st);
int memplan_mapfiles(struct memplan *m, int pid, char *text);
int memplan_pagemap(struct memplan *m, int pid, char *text);
/* proc/PID/vmflags: each region's flags beyond its protection */
int memplan_vmflags(struct memplan *m, int pid, char *text);
/* proc/PID/sysvshm: each SysV segment's size and mode, each one a
 * SysV region of maps */
int memplan_sysvshm(struct memplan *m, int pid, char *text);
/* every file region got its mapfiles line */
int memplan_check(struct memplan *m, int pid);
/* an address range of len bytes that no region nor the kernel's
 * specials use, at or above 1 TiB: 0 if none */
uint64_t memplan_hole(const struct memplan *m, uint64_t len);
void memplan_free(struct memplan *m);

#endif
