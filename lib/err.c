/* err.c - the one place messages are formatted */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

const char *argv0 = "ckpt";

void prog_init(char **argv)
{
	const char *s;

	if (argv[0] && *argv[0]) {
		s = strrchr(argv[0], '/');
		argv0 = s ? s + 1 : argv[0];
		/* getopt's own messages name argv[0]: the name, not the path */
		argv[0] = (char *)argv0;
	}
}

static void vmsg(int err, const char *fmt, va_list ap)
{
	size_t n = strlen(fmt);

	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
}

void warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(err, fmt, ap);
	va_end(ap);
	errno = err;
}

void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(err, fmt, ap);
	va_end(ap);
	exit(1);
}

void warnerr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void dieerr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(err < 0 ? -err : err, fmt, ap);
	va_end(ap);
	exit(1);
}

void usage_die(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}
