/* sysvshm.c - SysV shared memory segments: /proc/sysvipc/shm read for
 * the segments a process has attached.  The kernel gives a segment's
 * shmem file the shmid as its inode number (ipc/shm.c, newseg), so a
 * maps line names its segment. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"
#include "sysvshm.h"

int map_is_sysv(const struct map_region *r)
{
	return r->pathlen > 5 && !memcmp(r->path, "/SYSV", 5);
}

/* "key shmid perms size cpid lpid nattch uid gid cuid cgid ...": the
 * key in decimal (signed), perms in octal */
static int seg_parse(const char *line, struct sysvshm_seg *s)
{
	long long key;
	int n = sscanf(line, "%lld %d %o %" SCNu64 " %*d %*d %*d %u %u %u %u", &key, &s->id,
		       &s->mode, &s->size, &s->uid, &s->gid, &s->cuid, &s->cgid);

	s->key = (uint32_t)key;
	return n == 8 ? 0 : -1;
}

int sysvshm_find(int id, struct sysvshm_seg *seg)
{
	char *text = read_file("/proc/sysvipc/shm", NULL), *line, *eol;
	int r = -ENOENT;

	if (!text)
		return -errno;
	/* the first line is the header */
	for (line = strchr(text, '\n'); line && r == -ENOENT; line = eol) {
		line++;
		eol = strchr(line, '\n');
		if (seg_parse(line, seg) == 0 && seg->id == id)
			r = 0;
	}
	free(text);
	return r;
}

int sysvshm_any(const struct map_region *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (map_is_sysv(&r[i]))
			return 1;
	return 0;
}

int sysvshm_write(FILE *f, int pid, const struct map_region *r, size_t n)
{
	struct sysvshm_seg s;
	size_t i, k;
	int e;

	for (i = 0; i < n; i++) {
		if (!map_is_sysv(&r[i]))
			continue;
		for (k = 0; k < i && !(map_is_sysv(&r[k]) && r[k].inode == r[i].inode); k++)
			;
		if (k < i)
			continue;   /* a later view of a segment written */
		if ((e = sysvshm_find((int)r[i].inode, &s)) < 0) {
			warnerr(e, "pid %d: SysV segment %" PRIu64 " at %" PRIx64 ": not in /proc/sysvipc/shm (another IPC namespace?):",
				pid, r[i].inode, r[i].start);
			return -1;
		}
		fprintf(f, "%d %08" PRIx32 " %" PRIu64 " %o %u %u %u %u\n", s.id, s.key, s.size,
			s.mode, s.uid, s.gid, s.cuid, s.cgid);
	}
	return 0;
}
