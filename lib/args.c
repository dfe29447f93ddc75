/* args.c - strict decimal arguments: "12x", " 7", "-5" are usage errors */
#include <limits.h>
#include <stdint.h>

#include "args.h"
#include "err.h"

pid_t pid_arg(const char *s, const char *usage)
{
	uint64_t v;

	if (num_parse(s, INT_MAX, &v) < 0 || v == 0) {
		warn("%s: not a pid", s);
		usage_die(usage);
	}
	return v;
}

unsigned long long num_arg(const char *s, unsigned long long min,
			   unsigned long long max, const char *usage)
{
	uint64_t v;

	if (num_parse(s, max, &v) < 0 || v < min)
		usage_die(usage);
	return v;
}

unsigned long long offset_arg(const char *s, const char *usage)
{
	uint64_t v;

	if (num_parse(s, ~0ULL, &v) < 0 || v % 512) {
		warn("--offset %s: not a multiple of 512", s);
		usage_die(usage);
	}
	return v;
}
