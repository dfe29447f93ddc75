/* args.c - strict decimal arguments: "12x", " 7", "-5" are usage errors */
#include <limits.h>

#include "args.h"
#include "err.h"

int num_parse(const char *s, unsigned long long max, unsigned long long *v)
{
	unsigned long long n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (max - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

pid_t pid_arg(const char *s, const char *usage)
{
	unsigned long long v;

	if (num_parse(s, INT_MAX, &v) < 0 || v == 0)
		usage_die(usage);
	return v;
}

unsigned long long num_arg(const char *s, unsigned long long min,
			   unsigned long long max, const char *usage)
{
	unsigned long long v;

	if (num_parse(s, max, &v) < 0 || v < min)
		usage_die(usage);
	return v;
}

unsigned long long offset_arg(const char *s, const char *usage)
{
	unsigned long long v;

	if (num_parse(s, ~0ULL, &v) < 0 || v % 512) {
		warn("--offset %s: not a multiple of 512", s);
		usage_die(usage);
	}
	return v;
}
