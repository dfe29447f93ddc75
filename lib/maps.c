/* maps.c - parsing /proc/PID/maps.
 *
 * A line is "START-END PERMS OFFSET MAJ:MIN INODE [PATH]", numbers in
 * hex except INODE (decimal).  The kernel pads before PATH with spaces;
 * PATH runs to the end of the line and may itself hold spaces. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "maps.h"
#include "text.h"

static int hex(const char **s, const char *end, uint64_t max, uint64_t *v)
{
	return num_scan(s, end, 16, max, v);
}

static int expect(const char **s, const char *end, char c)
{
	if (*s >= end || **s != c)
		return -1;
	(*s)++;
	return 0;
}

static int perms(const char **s, const char *end, struct map_region *r)
{
	const char *p = *s;

	if (end - p < 4)
		return -1;
	r->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	if (p[3] != 's' && p[3] != 'p')
		return -1;
	r->shared = p[3] == 's';
	*s = p + 4;
	return 0;
}

/* one line, [s, end) without its newline */
static int parse_line(const char *s, const char *end, struct map_region *r)
{
	uint64_t maj, min;

	if (hex(&s, end, ~0ULL, &r->start) || expect(&s, end, '-') ||
	    hex(&s, end, ~0ULL, &r->end) || expect(&s, end, ' ') ||
	    perms(&s, end, r) || expect(&s, end, ' ') ||
	    hex(&s, end, ~0ULL, &r->offset) || expect(&s, end, ' ') ||
	    hex(&s, end, NUM_U32_MAX, &maj) || expect(&s, end, ':') ||
	    hex(&s, end, NUM_U32_MAX, &min) || expect(&s, end, ' ') ||
	    num_scan(&s, end, 10, ~0ULL, &r->inode))
		return -1;
	if (r->end <= r->start || (r->start | r->end) & 4095)
		return -1;
	r->dev_major = maj;
	r->dev_minor = min;
	while (s < end && *s == ' ')
		s++;
	r->path = s;
	r->pathlen = end - s;
	return 0;
}

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
		if (r < 0 || parse_line(t.line, t.line + t.len, &v[cnt]) < 0) {
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
