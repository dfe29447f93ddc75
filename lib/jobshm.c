/* jobshm.c - memory that the processes of a job share (jobshm.h).
 * Two regions of two processes are one object when their maps lines
 * give the same device and inode: the kernel's shmem inode of shared
 * anonymous memory, a memfd or a SysV segment (whose inode is its
 * shmid), or a file's. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "jobshm.h"
#include "maps.h"
#include "sysvshm.h"

/* one shared-memory region of one process of the job */
struct shm_region {
	pid_t pid;
	struct map_region r;
};

/* the regions of pid that are memory shared with nothing on disk:
 * shared anonymous memory, memfd, SysV, shared maps of deleted files;
 * appended to *v.  0, or -1 after a message */
static int shm_regions(pid_t pid, char **text, struct shm_region **v, size_t *n, size_t *cap)
{
	char path[64];
	struct map_region *r;
	size_t len, k, i, bad;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if (!(*text = read_file(path, &len)) || maps_parse(*text, len, &r, &k, &bad) < 0) {
		warn("pid %d: %s: unreadable", (int)pid, path);
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (!r[i].shared || (map_kind(&r[i]) != MAP_KIND_SHARED_MEM && !map_is_deleted(&r[i])))
			continue;
		if (*n == *cap && !(*v = realloc(*v, (*cap = *cap ? 2 * *cap : 64) * sizeof **v)))
			die("out of memory");
		(*v)[*n].pid = pid;
		(*v)[(*n)++].r = r[i];
	}
	free(r);
	return 0;
}

static int same_object(const struct map_region *a, const struct map_region *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* s: a SysV segment anyone may still look up by key or id */
static int sysv_kept(const struct map_region *r, struct sysvshm_seg *s)
{
	return map_is_sysv(r) && sysvshm_find((int)r->inode, s) == 0 && !(s->mode & SYSVSHM_DEST);
}

static const char kept_why[] =
	"is not marked for removal: anyone may still look it up by its key or id, and a restore cannot give it the same id: refused";

/* why a and b, one object, cannot be written */
static void shm_why(const struct shm_region *a, char *why, size_t cap)
{
	struct sysvshm_seg s;

	if (map_kind(&a->r) != MAP_KIND_SHARED_MEM)
		snprintf(why, cap, "the shared map of a deleted file: no file to map again, and no object a restore could share: refused");
	else if (sysv_kept(&a->r, &s))
		snprintf(why, cap, "SysV segment %d (key 0x%08" PRIx32 ") %s", s.id, s.key, kept_why);
	else
		snprintf(why, cap, "memory shared between processes cannot be written yet (a restore would make two copies): refused");
}

static void shm_refuse(const struct shm_region *a, const struct shm_region *b)
{
	const char *what = map_path_is(&a->r, "/dev/zero (deleted)") ?
		"MAP_SHARED anonymous memory" : "shared memory";
	char why[256];

	shm_why(a, why, sizeof why);
	warn("pids %d and %d share memory: %s %.*s (inode %llu) at 0x%llx-0x%llx in pid %d and 0x%llx-0x%llx in pid %d: %s",
	     (int)a->pid, (int)b->pid, what, (int)a->r.pathlen, a->r.path,
	     (unsigned long long)a->r.inode, (unsigned long long)a->r.start,
	     (unsigned long long)a->r.end, (int)a->pid, (unsigned long long)b->r.start,
	     (unsigned long long)b->r.end, (int)b->pid, why);
}

/* a SysV segment not marked for removal, even in one process: the
 * restore would map a copy while the segment lives on apart */
static int sysv_kept_refuse(const struct shm_region *v, size_t n)
{
	struct sysvshm_seg s;
	size_t i;

	for (i = 0; i < n; i++)
		if (sysv_kept(&v[i].r, &s)) {
			warn("pid %d: SysV segment %d (key 0x%08" PRIx32 ") at 0x%llx-0x%llx %s (--force to checkpoint it anyway)",
			     (int)v[i].pid, s.id, s.key, (unsigned long long)v[i].r.start,
			     (unsigned long long)v[i].r.end, kept_why);
			return -1;
		}
	return 0;
}

int job_shm_check(const struct job *j, int restorable)
{
	struct shm_region *v = NULL;
	char **texts = calloc(j->n + 1, sizeof *texts);
	size_t n = 0, cap = 0, a, b;
	unsigned i;
	int r = 0;

	if (!texts)
		die("out of memory");
	for (i = 0; i < j->n && r == 0; i++)
		if (!j->v[i].zombie)
			r = shm_regions(j->v[i].pid, &texts[i], &v, &n, &cap);
	for (a = 0; a < n && r == 0; a++)
		for (b = a + 1; b < n && r == 0; b++)
			if (v[a].pid != v[b].pid && same_object(&v[a].r, &v[b].r)) {
				shm_refuse(&v[a], &v[b]);
				r = -1;
			}
	if (r == 0 && restorable)
		r = sysv_kept_refuse(v, n);
	for (i = 0; i < j->n; i++)
		free(texts[i]);
	free(texts);
	free(v);
	return r;
}
