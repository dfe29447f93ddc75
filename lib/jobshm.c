/* jobshm.c - memory that the processes of a job share (jobshm.h).
 * Two regions of two processes are one object when their maps lines
 * give the same device and inode: the kernel's shmem inode of shared
 * anonymous memory, a memfd or a SysV segment (whose inode is its
 * shmid), or a file's. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/* memory with nothing on disk behind it: shared anonymous memory,
 * memfd, SysV, the shared map of a deleted file */
static int shm_only(const struct map_region *r)
{
	return r->shared && (map_kind(r) == MAP_KIND_SHARED_MEM || map_is_deleted(r));
}

/* the regions of pid that are shm_only, appended to *v.  0, or -1
 * after a message */
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
		if (!shm_only(&r[i]))
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

static void shm_refuse(const struct shm_region *a, const struct shm_region *b,
		       const struct sysvshm_seg *s)
{
	warn("pids %d and %d share memory: %.*s (inode %llu) at 0x%llx-0x%llx in pid %d and 0x%llx-0x%llx in pid %d: SysV segment %d (key 0x%08" PRIx32 ") %s",
	     (int)a->pid, (int)b->pid, (int)a->r.pathlen, a->r.path,
	     (unsigned long long)a->r.inode, (unsigned long long)a->r.start,
	     (unsigned long long)a->r.end, (int)a->pid, (unsigned long long)b->r.start,
	     (unsigned long long)b->r.end, (int)b->pid, s->id, s->key, kept_why);
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

/* A view of part of a SysV segment (a part unmapped after shmat): a
 * restore attaches the whole segment at each view (shmat), so it could
 * not make it again.  0, or -1 after a message naming the pid. */
static int sysv_part(const struct shm_region *v, size_t n, size_t a, size_t other)
{
	struct sysvshm_seg s;
	uint64_t whole;
	size_t b;

	if (!map_is_sysv(&v[a].r) || sysvshm_find((int)v[a].r.inode, &s) < 0)
		return 0;
	whole = (s.size + 4095) & ~4095ULL;
	for (b = a; b < n; b++)
		if (same_object(&v[a].r, &v[b].r) &&
		    (v[b].r.offset || v[b].r.end - v[b].r.start != whole)) {
			warn("pids %d and %d share memory: SysV segment %d (key 0x%08" PRIx32 "): pid %d maps only a part of it at 0x%llx-0x%llx, and a restore attaches a segment whole: refused",
			     (int)v[a].pid, (int)v[other].pid, s.id, s.key, (int)v[b].pid,
			     (unsigned long long)v[b].r.start, (unsigned long long)v[b].r.end);
			return -1;
		}
	return 0;
}

static void pid_add(struct jobshm_obj *o, pid_t pid)
{
	unsigned i;

	for (i = 0; i < o->npid; i++)
		if (o->pid[i] == pid)
			return;
	if (!(o->pid = realloc(o->pid, (o->npid + 1) * sizeof *o->pid)))
		die("out of memory");
	o->pid[o->npid++] = pid;
}

/* The object of region v[a], its first in the job: every region of it
 * (v is in stream order), its size and its processes.  An object of
 * one process is left out (formats/memory.md restores it per process).
 * 0, or -1 after a message: a SysV segment still reachable by key. */
static int object_add(struct jobshm *out, const struct shm_region *v, size_t n, size_t a)
{
	struct jobshm_obj o = { v[a].r.dev_major, v[a].r.dev_minor, v[a].r.inode, 0, NULL, 0 };
	struct sysvshm_seg s;
	size_t b, other = n;

	for (b = a; b < n; b++) {
		if (!same_object(&v[a].r, &v[b].r))
			continue;
		if (v[b].pid != v[a].pid && other == n)
			other = b;
		if (v[b].r.offset + (v[b].r.end - v[b].r.start) > o.size)
			o.size = v[b].r.offset + (v[b].r.end - v[b].r.start);
		pid_add(&o, v[b].pid);
	}
	if (other == n) {
		free(o.pid);
		return 0;
	}
	if (sysv_kept(&v[a].r, &s)) {
		free(o.pid);
		shm_refuse(&v[a], &v[other], &s);
		return -1;
	}
	if (sysv_part(v, n, a, other) < 0) {
		free(o.pid);
		return -1;
	}
	if (map_path_is(&v[a].r, "/anon_hugepage (deleted)")) {
		free(o.pid);
		warn("pids %d and %d share MAP_HUGETLB memory at 0x%llx-0x%llx: a restore cannot make it one object yet: refused",
		     (int)v[a].pid, (int)v[other].pid, (unsigned long long)v[a].r.start,
		     (unsigned long long)v[a].r.end);
		return -1;
	}
	if (!(out->v = realloc(out->v, (out->n + 1) * sizeof *out->v)))
		die("out of memory");
	out->v[out->n++] = o;
	return 0;
}

static int maps_it(const struct jobshm_obj *o, pid_t pid)
{
	unsigned i = 0;

	while (i < o->npid && o->pid[i] != pid)
		i++;
	return i < o->npid;
}

/* An fd of pid open on an object of s (a memfd kept open, the deleted
 * file) while pid maps none of it: a restore turns such an fd into one
 * on the object only in a process that maps it (the object is made
 * there), else it would make the fd's file apart from the object, and
 * a write through one would not be seen through the other.  Each fd is
 * looked at once.  0, or -1 after a message naming both. */
static int fd_on_object(pid_t pid, const struct jobshm *s)
{
	const struct jobshm_obj *o;
	char dir[64];
	struct dirent *d;
	struct stat st;
	unsigned i;
	DIR *dp;
	int r = 0;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	if (!(dp = opendir(dir)))
		return 0;    /* gone: the freeze says so */
	while (r == 0 && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || fstatat(dirfd(dp), d->d_name, &st, 0) < 0)
			continue;
		for (i = 0, o = s->v; i < s->n && r == 0; i++, o++) {
			if (st.st_ino != o->inode || major(st.st_dev) != o->dev_major ||
			    minor(st.st_dev) != o->dev_minor || maps_it(o, pid))
				continue;
			warn("pid %d: fd %s is open on the memory that pids %d and %d map (%02x:%02x inode %" PRIu64 "), but pid %d maps none of it: a restore would make the fd's file apart from the memory: refused",
			     (int)pid, d->d_name, (int)o->pid[0], (int)o->pid[1], o->dev_major,
			     o->dev_minor, o->inode, (int)pid);
			r = -1;
		}
	}
	closedir(dp);
	return r;
}

/* no process of the job has an fd on an object of out */
static int objects_no_fd(const struct jobshm *out, const struct job *j)
{
	unsigned k;

	for (k = 0; out->n && k < j->n; k++)
		if (!j->v[k].zombie && fd_on_object(j->v[k].pid, out) < 0)
			return -1;
	return 0;
}

/* each object once, from its first region */
static int objects_find(struct jobshm *out, const struct shm_region *v, size_t n)
{
	size_t a, b;

	for (a = 0; a < n; a++) {
		for (b = 0; b < a && !same_object(&v[a].r, &v[b].r); b++)
			;
		if (b == a && object_add(out, v, n, a) < 0)
			return -1;
	}
	return 0;
}

int job_shm_check(const struct job *j, int restorable, struct jobshm *out)
{
	struct shm_region *v = NULL;
	char **texts = calloc(j->n + 1, sizeof *texts);
	size_t n = 0, cap = 0;
	unsigned i;
	int r = 0;

	memset(out, 0, sizeof *out);
	if (!texts)
		die("out of memory");
	for (i = 0; i < j->n && r == 0; i++)
		if (!j->v[i].zombie)
			r = shm_regions(j->v[i].pid, &texts[i], &v, &n, &cap);
	if (r == 0)
		r = objects_find(out, v, n);
	if (r == 0)
		r = objects_no_fd(out, j);
	if (r == 0 && restorable)
		r = sysv_kept_refuse(v, n);
	for (i = 0; i < j->n; i++)
		free(texts[i]);
	free(texts);
	free(v);
	if (r < 0)
		jobshm_free(out);
	return r;
}

int jobshm_write(FILE *f, const void *arg)
{
	const struct jobshm *s = arg;
	unsigned i, k;

	for (i = 0; i < s->n; i++) {
		fprintf(f, "%02x:%02x %" PRIu64 " %" PRIu64 " ", s->v[i].dev_major,
			s->v[i].dev_minor, s->v[i].inode, s->v[i].size);
		for (k = 0; k < s->v[i].npid; k++)
			fprintf(f, "%s%d", k ? "," : "", (int)s->v[i].pid[k]);
		fputc('\n', f);
	}
	return 0;
}

void jobshm_free(struct jobshm *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].pid);
	free(s->v);
	memset(s, 0, sizeof *s);
}
