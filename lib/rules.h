/* rules.h - the files policy of ckpt-dumpfds, and the rules file
 * (--files-rules, $CKPT_FILES_DATA) that overrides it per file.
 *
 * One rule a line, as DMTCP writes them (formats/fds.md, "Rules"):
 *   PATTERN:SAVE_AND_RESTORE={1|0}[;RESTART_PATH=NEW][;TRUNCATE=1]
 * PATTERN is an absolute path or an fnmatch(3) pattern (no flags: '*'
 * crosses '/').  Empty lines and lines starting with '#' are skipped. */
#ifndef CKPT_RULES_H
#define CKPT_RULES_H
#include <stddef.h>

#include "fdinfo.h"

struct rule {
	char *pattern;      /* as written, NUL-terminated in rules.text */
	char *restart;      /* NULL when not given (or empty) */
	int save;           /* SAVE_AND_RESTORE */
	int truncate;       /* TRUNCATE=1: cut back to the checkpoint's size */
	int line;           /* line number in the file, from 1 */
};

struct rules {
	char *text;         /* the file verbatim (len bytes) */
	size_t len;
	char *work;         /* a copy that the rules point into */
	struct rule *v;
	size_t n;
};

/* Read path and check every line.  0, or -1 after a message naming
 * "path:LINE" and what is wrong; nothing is kept then. */
int rules_load(struct rules *r, const char *path);
/* the same for text already in memory (len bytes, copied); name is
 * what messages call it */
int rules_parse(struct rules *r, const char *name, const char *text, size_t len);
/* the first rule whose pattern matches path, or NULL */
const struct rule *rules_match(const struct rules *r, const char *path);
/* Where path goes at restart under rule (rule->restart with the
 * wildcard part of the pattern mapped, formats/fds.md).  0, -ENOENT
 * when the rule gives no restart path, -ENAMETOOLONG when out is short. */
int rule_restart_path(const struct rule *rule, const char *path, char *out, size_t cap);
void rules_free(struct rules *r);
/* the rules file a checkpoint uses: path (--files-rules), else
 * $CKPT_FILES_DATA, else NULL */
const char *rules_path(const char *path);
/* Check that rules file, if any, before anything is written (as
 * ckpt-freeze does): 0, or -1 after a message naming file and line. */
int rules_check(const char *path);

struct fd_policy {
	char name[24];      /* "a" .. "d", "deleted", "memfd", "rule:N";
	                     * "" when no policy applies to the kind */
	int save;           /* the contents go into the image */
	int truncate;       /* a rule's TRUNCATE=1 (never with save) */
	char *restart;      /* malloc'd restart path (a rule's), or NULL */
};
/* The policy for one fd (formats/fds.md "The policy keys"); rules may
 * be NULL.  0, or -errno when a rule's restart path cannot be made. */
int policy_decide(const struct fd_desc *f, const struct rules *rules,
		  int all_files, struct fd_policy *p);

#endif
