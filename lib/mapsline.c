/* mapsline.c - one line of /proc/PID/maps, the only parser of it: the
 * commands' (lib/maps.c) and the restorer's, which compiles this file
 * and lib/num.c into itself.  So: no malloc, stdio, errno or locks.
 *
 * A line is "START-END PERMS OFFSET MAJ:MIN INODE [PATH]", numbers in
 * hex except INODE (decimal).  The kernel pads before PATH with spaces;
 * PATH runs to the end of the line and may itself hold spaces. */
#include <sys/mman.h>

#include "maps.h"
#include "num.h"

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

int maps_line(const char *s, const char *end, struct map_region *r)
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
