/* text.h - the one line reader of the restore side: every text member
 * (manifest, core, threads, fds, maps, mapfiles, pagemap) and the
 * rules file are read line by line with it, fields split on single
 * spaces, each number through lib/num.h.
 *
 * The text is written into: each line is NUL-terminated in place
 * (unless keep is set), and so are the fields. */
#ifndef CKPT_TEXT_H
#define CKPT_TEXT_H
#include <stddef.h>
#include <stdint.h>

#include "num.h"

#define TEXT_FIELDS_MAX 260   /* a core's groups line: 256 groups */

struct text {
	char *p, *end;          /* what is left to read */
	const char *name;       /* the member, for messages */
	int keep;               /* leave the text as it is: no NULs put in */
	unsigned no;            /* the current line, from 1 */
	char *line;             /* it, without its newline */
	size_t len;
	char *f[TEXT_FIELDS_MAX];  /* its fields, after text_record */
	int n;
};

/* len bytes of text, and a NUL after them unless keep is set; name:
 * what messages call it ("proc/1/core") */
void text_init(struct text *t, char *text, size_t len, const char *name);
/* The next line: 1, 0 at the end, -1 when the line holds a NUL byte
 * (nothing printed: the caller words it). */
int text_next(struct text *t);
/* The next line that is neither empty nor a '#' comment, split on
 * single spaces into t->f, t->n of them: 1, 0 at the end, or -1 after
 * a message (a NUL byte, or more than max fields). */
int text_record(struct text *t, int max);
/* The one loop over a text member: each record of text (NUL-terminated,
 * of member name, at most max fields) to line(t, obj).  0, or -1 after
 * a message (the reader's, or line's, which returns 0 or -1). */
int text_each(char *text, const char *name, int max,
	      int (*line)(struct text *t, void *obj), void *obj);

/* The one key dispatch: a member's rules, one per key (field 0). */
struct text_key {
	const char *key;
	int (*rule)(struct text *t, void *obj);
};
/* the rule of the record's key among keys[0..n) applied: its result;
 * 1 when no rule has that key (the caller decides: most skip it) */
int text_key_apply(struct text *t, const struct text_key *keys, size_t n, void *obj);
#define TEXT_KEYS(k) (k), sizeof (k) / sizeof *(k)

/* "member NAME line N: why" on stderr; -1 */
int text_bad(const struct text *t, const char *why);

/* The line must have exactly n fields after its key, numbers of base
 * (num_parse_base) each <= max, into v[0..n): 0, or -1 after a message */
int text_nums(const struct text *t, int n, int base, uint64_t max, uint64_t *v);

#endif
