/* text.c - the line reader (text.h) */
#include <string.h>

#include "err.h"
#include "text.h"

void text_init(struct text *t, char *text, size_t len, const char *name)
{
	memset(t, 0, sizeof *t);
	t->p = text;
	t->end = text + len;
	t->name = name;
}

int text_next(struct text *t)
{
	char *nl;

	if (t->p >= t->end)
		return 0;
	nl = memchr(t->p, '\n', t->end - t->p);
	t->line = t->p;
	t->len = (nl ? nl : t->end) - t->p;
	t->p = nl ? nl + 1 : t->end;
	t->no++;
	t->n = 0;
	if (memchr(t->line, 0, t->len))
		return -1;
	if (!t->keep && nl)
		*nl = 0;
	return 1;
}

/* the current line split on single spaces into t->f: the count, or -1
 * after a message when it has more than max fields */
static int text_split(struct text *t, int max)
{
	char *s = t->line;

	if (max > TEXT_FIELDS_MAX)
		max = TEXT_FIELDS_MAX;
	for (t->n = 0; s; t->n++) {
		if (t->n == max)
			return text_bad(t, "too many fields");
		t->f[t->n] = s;
		if ((s = strchr(s, ' ')))
			*s++ = 0;
	}
	return t->n;
}

int text_record(struct text *t, int max)
{
	int r;

	while ((r = text_next(t)) > 0) {
		if (!t->len || t->line[0] == '#')
			continue;
		return text_split(t, max) < 0 ? -1 : 1;
	}
	return r < 0 ? text_bad(t, "a NUL byte in the line") : 0;
}

int text_each(char *text, const char *name, int max,
	      int (*line)(struct text *t, void *obj), void *obj)
{
	struct text t;
	int r;

	text_init(&t, text, strlen(text), name);
	while ((r = text_record(&t, max)) > 0)
		if (line(&t, obj) < 0)
			return -1;
	return r;
}

int text_key_apply(struct text *t, const struct text_key *keys, size_t n, void *obj)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(keys[i].key, t->f[0]))
			return keys[i].rule(t, obj);
	return 1;
}

int text_bad(const struct text *t, const char *why)
{
	warn("member %s line %u: %s", t->name, t->no, why);
	return -1;
}

/* field i as a number of base <= max: 0, or -1 after a message */
static int text_num(const struct text *t, int i, int base, uint64_t max, uint64_t *v)
{
	if (i >= t->n || num_parse_base(t->f[i], base, max, v) < 0)
		return text_bad(t, "malformed number");
	return 0;
}

int text_nums(const struct text *t, int n, int base, uint64_t max, uint64_t *v)
{
	int i;

	if (t->n != n + 1)
		return text_bad(t, "wrong number of fields");
	for (i = 0; i < n; i++)
		if (text_num(t, i + 1, base, max, &v[i]) < 0)
			return -1;
	return 0;
}
