/* rules.c - reading and applying the files rules (formats/fds.md) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "grow.h"
#include "io.h"
#include "rules.h"
#include "text.h"

#define RULES_MAX (1 << 20)   /* a rules file is a few lines */

static const char save_key[] = ":SAVE_AND_RESTORE=";
static const char restart_key[] = ";RESTART_PATH=";
static const char truncate_key[] = ";TRUNCATE=1";   /* ours: DMTCP has none */

/* a line ending in ;TRUNCATE=1: cut that off; 1 if it was there */
static int truncate_strip(char *line)
{
	size_t n = strlen(line), k = sizeof truncate_key - 1;

	if (n <= k || strcmp(line + n - k, truncate_key))
		return 0;
	line[n - k] = 0;
	return 1;
}

/* index of the ']' closing the bracket expression at p[i], or -1.  The
 * same reading as glibc's fnmatch: a ']' first (after '!' or '^') is a
 * member, so are [:class:], [.sym.] and [=eq=], and '\' escapes */
static long bracket_end(const char *p, size_t i)
{
	size_t j = i + 1;
	const char *e;
	char open[3] = "[";

	if (p[j] == '!' || p[j] == '^')
		j++;
	if (p[j] == ']')
		j++;
	for (; p[j]; j++) {
		if (p[j] == '\\' && p[j + 1]) {
			j++;
		} else if (p[j] == '[' && p[j + 1] && strchr(":.=", p[j + 1])) {
			open[0] = p[j + 1];
			open[1] = ']';
			e = strstr(p + j + 2, open);
			if (!e)
				return -1;
			j = e + 1 - p;
		} else if (p[j] == ']') {
			return j;
		}
	}
	return -1;
}

/* Where the wildcards of pattern p are: *first is the index of the
 * first one, *end the index just after the last one (after its ']' for
 * a bracket).  Returns how many there are, or -1 when p is malformed
 * (an unclosed '[' or a trailing '\'). */
static int wild_span(const char *p, size_t *first, size_t *end)
{
	int n = 0;
	long e;
	size_t i;

	*first = *end = 0;
	for (i = 0; p[i]; i++) {
		if (p[i] == '\\') {
			if (!p[++i])
				return -1;
			continue;
		}
		if (p[i] != '*' && p[i] != '?' && p[i] != '[')
			continue;
		if (!n++)
			*first = i;
		if (p[i] == '[') {
			if ((e = bracket_end(p, i)) < 0)
				return -1;
			i = e;
		}
		*end = i + 1;
	}
	return n;
}

/* append len bytes of literal pattern text to out, dropping escapes */
static int put_literal(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		if (*n + 1 >= cap)
			return -ENAMETOOLONG;
		out[(*n)++] = s[i];
	}
	out[*n] = 0;
	return 0;
}

/* the length of pattern text s[0..len) once its escapes are dropped */
static size_t literal_len(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++, n++)
		if (s[i] == '\\' && i + 1 < len)
			i++;
	return n;
}

/* check one line (NUL-terminated, in place) and fill rule; a message
 * for the reader, or NULL when the line is good */
static const char *rule_parse(char *line, struct rule *rule)
{
	int truncate = truncate_strip(line);
	char *key = strstr(line, save_key), *v;
	size_t a, b;
	int np, nr;

	rule->truncate = truncate;
	if (!key)
		return "expected PATTERN:SAVE_AND_RESTORE={1|0}[;RESTART_PATH=PATH][;TRUNCATE=1]";
	*key = 0;
	v = key + sizeof save_key - 1;
	rule->pattern = line;
	if (line[0] != '/')
		return "the pattern must be an absolute path";
	if ((np = wild_span(line, &a, &b)) < 0)
		return "malformed pattern (an unclosed '[' or a trailing '\\')";
	if ((v[0] != '0' && v[0] != '1') || (v[1] && strncmp(v + 1, restart_key, sizeof restart_key - 1)))
		return "SAVE_AND_RESTORE must be 0 or 1, followed by the end of the line or ;RESTART_PATH=";
	rule->save = v[0] == '1';
	if (rule->save && truncate)
		return "TRUNCATE=1 goes with SAVE_AND_RESTORE=0 (a saved file comes back whole)";
	rule->restart = NULL;
	if (!v[1] || !v[sizeof restart_key])
		return NULL;
	rule->restart = v + sizeof restart_key;
	if (rule->restart[0] != '/')
		return "RESTART_PATH must be an absolute path";
	if ((nr = wild_span(rule->restart, &a, &b)) < 0)
		return "malformed RESTART_PATH (an unclosed '[' or a trailing '\\')";
	if (nr && !np)
		return "RESTART_PATH has wildcards but the pattern has none";
	return NULL;
}

static int rules_add(struct rules *r, const struct rule *rule)
{
	struct rule *v = GROW1(r->v, r->n);

	if (!v)
		return -1;
	*v = *rule;
	r->n++;
	return 0;
}

int rules_parse(struct rules *r, const char *name, const char *text, size_t len)
{
	struct rule rule;
	const char *why;
	struct text t;
	char *line;
	int k;

	memset(r, 0, sizeof *r);
	r->text = malloc(len + 1);
	r->work = malloc(len + 1);
	if (!r->text || !r->work)
		goto nomem;
	memcpy(r->text, text, len);
	memcpy(r->work, text, len);
	r->text[len] = r->work[len] = 0;
	r->len = len;
	text_init(&t, r->work, len, name);
	while ((k = text_next(&t)) != 0) {
		if (k < 0) {
			warn("%s:%u: a NUL byte in the line", name, t.no);
			goto fail;
		}
		line = t.line;
		if (t.len && line[t.len - 1] == '\r')
			line[t.len - 1] = 0;   /* a file written on another system */
		if (!line[0] || line[0] == '#')
			continue;
		memset(&rule, 0, sizeof rule);
		rule.line = t.no;
		if ((why = rule_parse(line, &rule))) {
			warn("%s:%u: %s", name, t.no, why);
			goto fail;
		}
		if (rules_add(r, &rule) < 0)
			goto nomem;
	}
	return 0;
nomem:
	warn("%s: out of memory", name);
fail:
	rules_free(r);
	return -1;
}

int rules_load(struct rules *r, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	int ret;

	if (!text) {
		warn("%s:", path);
		return -1;
	}
	if (len > RULES_MAX) {
		warn("%s: larger than %d bytes: not a rules file", path, RULES_MAX);
		free(text);
		return -1;
	}
	ret = rules_parse(r, path, text, len);
	free(text);
	return ret;
}

const char *rules_path(const char *path)
{
	if (!path || !*path)
		path = getenv("CKPT_FILES_DATA");
	return path && *path ? path : NULL;
}

int rules_check(const char *path)
{
	struct rules r;

	if (!(path = rules_path(path)))
		return 0;
	if (rules_load(&r, path) < 0)
		return -1;
	rules_free(&r);
	return 0;
}

const struct rule *rules_match(const struct rules *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (fnmatch(r->v[i].pattern, path, 0) == 0)
			return &r->v[i];
	return NULL;
}

int rule_restart_path(const struct rule *rule, const char *path, char *out, size_t cap)
{
	const char *p = rule->pattern, *q = rule->restart;
	size_t pa, pb, qa, qb, pre, suf, plen = strlen(path), n = 0;
	int r;

	if (!q)
		return -ENOENT;
	if (wild_span(p, &pa, &pb) <= 0 || wild_span(q, &qa, &qb) <= 0)
		return put_literal(out, cap, &n, q, strlen(q));
	/* path = PRE MID SUF, where PRE and SUF are what the literal text
	 * before the pattern's first and after its last wildcard matched */
	pre = literal_len(p, pa);
	suf = literal_len(p + pb, strlen(p + pb));
	if (pre + suf > plen)
		return -EINVAL;
	if ((r = put_literal(out, cap, &n, q, qa)) < 0)
		return r;
	if (n + plen - pre - suf >= cap)
		return -ENAMETOOLONG;
	memcpy(out + n, path + pre, plen - pre - suf);
	n += plen - pre - suf;
	out[n] = 0;
	return put_literal(out, cap, &n, q + qb, strlen(q + qb));
}

void rules_free(struct rules *r)
{
	free(r->text);
	free(r->work);
	free(r->v);
	memset(r, 0, sizeof *r);
}

/* the kinds a rule can name: those reopened by path */
static int kind_has_path(enum fd_kind k)
{
	return k == FD_FILE || k == FD_DIR || k == FD_FIFO || k == FD_CHR || k == FD_BLK;
}

static int rule_apply(const struct fd_desc *f, const struct rule *rule, struct fd_policy *p)
{
	char path[PATH_MAX];
	int r;

	snprintf(p->name, sizeof p->name, "rule:%d", rule->line);
	p->save = rule->save && f->kind == FD_FILE;
	p->truncate = rule->truncate && f->kind == FD_FILE;
	if (rule->save)
		return 0;   /* RESTART_PATH is ignored when the file is saved */
	r = rule_restart_path(rule, f->path, path, sizeof path);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return (p->restart = strdup(path)) ? 0 : -ENOMEM;
}

/* deleted and memfd files always saved, then the first matching rule,
 * then all_files (d), then by how the file is open (a, b, c) */
int policy_decide(const struct fd_desc *f, const struct rules *rules,
		  int all_files, struct fd_policy *p)
{
	const struct rule *rule;
	int acc = f->flags & O_ACCMODE;

	memset(p, 0, sizeof *p);
	if (f->kind == FD_DELETED || f->kind == FD_MEMFD) {
		snprintf(p->name, sizeof p->name, "%s", fd_kind_name(f->kind));
		p->save = 1;
		return 0;
	}
	if (!kind_has_path(f->kind))
		return 0;
	if (rules && (rule = rules_match(rules, f->path)))
		return rule_apply(f, rule, p);
	if (f->kind != FD_FILE)
		return 0;
	if (all_files)
		p->name[0] = 'd';
	else if (acc == O_RDONLY || (f->flags & O_PATH))
		p->name[0] = 'a';
	else if ((f->flags & O_APPEND) || f->pos >= f->st.st_size)
		p->name[0] = 'b';   /* a log: O_APPEND writes at the end */
	else
		p->name[0] = 'c';
	p->save = p->name[0] == 'c' || p->name[0] == 'd';
	return 0;
}
