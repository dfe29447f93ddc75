/* memberout.c - members of the raw stream, built and written one way
 * (memberout.h) */
#include <stdarg.h>
#include <stdlib.h>

#include "err.h"
#include "freeze.h"
#include "memberout.h"

FILE *member_open(struct member *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->name, sizeof m->name, fmt, ap);
	va_end(ap);
	m->text = NULL;
	m->len = 0;
	if (!(m->f = open_memstream(&m->text, &m->len)))
		die("%s: text:", m->name);
	return m->f;
}

char *member_text(struct member *m, size_t *len)
{
	if (m->f && fclose(m->f) != 0)
		die("%s: text:", m->name);
	m->f = NULL;
	if (len)
		*len = m->len;
	return m->text;
}

void member_drop(struct member *m)
{
	member_text(m, NULL);
	free(m->text);
	m->text = NULL;
}

int member_close(struct member *m, struct tar_out *t)
{
	size_t len;
	char *text = member_text(m, &len);
	int r = member_put(t, m->name, text, len);

	member_drop(m);
	return r;
}

int member_from(struct tar_out *t, const char *name,
		int (*fn)(FILE *, const void *), const void *arg)
{
	struct member m;

	if (fn(member_open(&m, "%s", name), arg) < 0) {
		member_drop(&m);
		return -1;
	}
	return member_close(&m, t);
}

int member_put(struct tar_out *t, const char *name, const void *buf, size_t len)
{
	int r = tar_member(t, name, buf, len);

	if (r < 0) {
		warnerr(r, "stdout: %s:", name);
		return -1;
	}
	return 0;
}

int stream_out_end(struct tar_out *t)
{
	int r = tar_finish(t);

	if (r == 0)
		r = drain_wait(t->fd);
	if (r < 0) {
		warnerr(r, "stdout:");
		return -1;
	}
	return 0;
}
