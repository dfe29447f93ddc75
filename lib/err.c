/* err.c - the one place messages are formatted */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "io.h"

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

/* One message, one write(2): the stages of a checkpoint share stderr,
 * and a message written in pieces interleaves with theirs. */
static void vmsg(int err, const char *fmt, va_list ap)
{
	char buf[4096];
	size_t n = strlen(fmt), len;
	int k;

	k = snprintf(buf, sizeof buf - 1, "%s: ", argv0);
	len = k < 0 ? 0 : (size_t)k;
	if (len < sizeof buf - 1 && (k = vsnprintf(buf + len, sizeof buf - 1 - len, fmt, ap)) > 0)
		len += k;
	if (n && fmt[n - 1] == ':' && len < sizeof buf - 1 &&
	    (k = snprintf(buf + len, sizeof buf - 1 - len, " %s", strerror(err))) > 0)
		len += k;
	if (len > sizeof buf - 2)
		len = sizeof buf - 2;   /* cut: the line still ends */
	buf[len++] = '\n';
	fflush(stderr);
	write_all(2, buf, len);
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
