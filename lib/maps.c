/* maps.c - parsing /proc/PID/maps: line by line (lib/text.h), each
 * line by maps_line (lib/mapsline.c), and what a region is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "maps.h"
#include "text.h"

int maps_parse(const char *text, size_t len, struct map_region **out,
	       size_t *n, size_t *bad)
{
	struct map_region *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct text t;
	int r;

	/* keep: the text is only read, the regions' paths point into it */
	text_init(&t, (char *)text, len, "maps");
	t.keep = 1;
	while ((r = text_next(&t)) != 0) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		if (r < 0 || maps_line(t.line, t.line + t.len, &v[cnt]) < 0) {
			*bad = cnt + 1;
			free(v);
			return -EINVAL;
		}
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int map_path_is(const struct map_region *r, const char *s)
{
	return r->pathlen == strlen(s) && !memcmp(r->path, s, r->pathlen);
}

const struct map_region *maps_find(const struct map_region *r, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (map_path_is(&r[i], path))
			return &r[i];
	return NULL;
}

static int path_starts(const struct map_region *r, const char *s)
{
	size_t n = strlen(s);

	return r->pathlen >= n && !memcmp(r->path, s, n);
}

int map_is_deleted(const struct map_region *r)
{
	static const char del[] = " (deleted)";
	size_t n = sizeof del - 1;

	return r->pathlen > n && !memcmp(r->path + r->pathlen - n, del, n);
}

enum map_kind map_kind(const struct map_region *r)
{
	int shmem;

	if (map_path_is(r, "[vdso]") || map_path_is(r, "[vvar]") ||
	    map_path_is(r, "[vvar_vclock]") || map_path_is(r, "[vsyscall]") ||
	    map_path_is(r, "[uprobes]"))
		return MAP_KIND_SPECIAL;
	/* anonymous memory in a file's clothes: MAP_HUGETLB|MAP_ANONYMOUS
	 * shows as "/anon_hugepage (deleted)", private or shared */
	if (map_path_is(r, "/anon_hugepage (deleted)"))
		return r->shared ? MAP_KIND_SHARED_MEM : MAP_KIND_PRIVATE;
	/* MAP_SHARED|MAP_ANONYMOUS is a shmem file the kernel names
	 * "/dev/zero (deleted)" ("[anon_shmem:NAME]" once named); memfds
	 * and SysV segments are shmem files too */
	shmem = path_starts(r, "/memfd:") || path_starts(r, "/SYSV") ||
		path_starts(r, "[anon_shmem:") ||
		(r->shared && map_path_is(r, "/dev/zero (deleted)"));
	if (r->shared && (shmem || r->pathlen == 0))
		return MAP_KIND_SHARED_MEM;
	if (path_starts(r, "/memfd:") || (r->pathlen && r->path[0] == '/' &&
	    map_is_deleted(r)))
		return MAP_KIND_ORPHAN;
	return r->shared ? MAP_KIND_SHARED_FILE : MAP_KIND_PRIVATE;
}

int map_is_file(const struct map_region *r)
{
	return r->pathlen && r->path[0] == '/' &&
	       !path_starts(r, "/memfd:") && !path_starts(r, "/SYSV") &&
	       !map_path_is(r, "/anon_hugepage (deleted)") &&
	       map_kind(r) != MAP_KIND_SHARED_MEM;
}

int smaps_head(const char *line, uint64_t *start, uint64_t *end)
{
	char *e, *e2;
	uint64_t a = strtoull(line, &e, 16), b;

	if (e == line || *e != '-')
		return 0;
	b = strtoull(e + 1, &e2, 16);
	if (e2 == e + 1 || *e2 != ' ')
		return 0;
	*start = a;
	if (end)
		*end = b;
	return 1;
}
