/* num.c - strict numbers (num.h).  The restorer compiles it in too
 * (for lib/mapsline.c): no malloc, stdio, errno or locks. */
#include <string.h>

#include "num.h"

static int digit(char c, int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < base ? d : -1;
}

int num_scan(const char **s, const char *end, int base, uint64_t max, uint64_t *v)
{
	const char *p = *s;
	uint64_t n = 0;
	int d;

	for (; p < end && (d = digit(*p, base)) >= 0; p++) {
		/* d > max first: max - d must not wrap (max below 9) */
		if ((uint64_t)d > max || n > (max - d) / base)
			return -1;
		n = n * base + d;
	}
	if (p == *s)
		return -1;
	*s = p;
	*v = n;
	return 0;
}

/* s whole, with no prefix */
static int whole(const char *s, int base, uint64_t max, uint64_t *v)
{
	const char *end = s + strlen(s);

	return num_scan(&s, end, base, max, v) == 0 && s == end ? 0 : -1;
}

int num_parse_base(const char *s, int base, uint64_t max, uint64_t *v)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (base == 0 && !hex && s[0] == '0' && s[1])
		return -1;
	if (base == 0 || base == 16)
		return hex ? whole(s + 2, 16, max, v) : whole(s, base ? 16 : 10, max, v);
	return whole(s, base, max, v);
}

int num_parse(const char *s, uint64_t max, uint64_t *v)
{
	return whole(s, 10, max, v);
}

/* a then sep then b, each all digits */
static int two(const char *s, char sep, int base, uint64_t max, uint64_t *a, uint64_t *b)
{
	const char *end = s + strlen(s);

	if (num_scan(&s, end, base, max, a) < 0 || s == end || *s++ != sep ||
	    num_scan(&s, end, base, max, b) < 0)
		return -1;
	return s == end ? 0 : -1;
}

int num_secs(const char *s, int ndec, uint64_t *sec, uint64_t *frac)
{
	const char *dot = strchr(s, '.');

	if (!dot || strlen(dot + 1) != (size_t)ndec)
		return -1;
	return two(s, '.', 10, ~0ULL, sec, frac);
}

int num_range(const char *s, int base, uint64_t *a, uint64_t *b)
{
	return two(s, '-', base, ~0ULL, a, b);
}

int num_pair(const char *s, uint64_t max, uint64_t *a, uint64_t *b)
{
	return two(s, ':', 10, max, a, b);
}
