/* escape.h - paths and names in text members (formats/README.md):
 * backslash, space, tab, newline and other bytes below 0x20 or 0x7f
 * are written as \ooo (three octal digits); everything else as is. */
#ifndef CKPT_ESCAPE_H
#define CKPT_ESCAPE_H
#include <stddef.h>

/* escape s into out (cap bytes, NUL-terminated); -1 if it does not fit */
int str_escape(const char *s, char *out, size_t cap);
/* undo str_escape in place; -1 on a malformed escape */
int str_unescape(char *s);

#endif
