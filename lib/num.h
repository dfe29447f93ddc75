/* num.h - numbers in text, strictly: the whole field is the number (no
 * sign, no space, nothing after it), checked against a bound, so a
 * value too large for its field is an error and never cut short.  The
 * one number parser of the restore side: the members of an image
 * (lib/text.h), /proc/PID/maps (lib/mapsline.c, in the restorer too),
 * and the commands' and the restorer's arguments. */
#ifndef CKPT_NUM_H
#define CKPT_NUM_H
#include <stddef.h>
#include <stdint.h>

#define NUM_INT_MAX 0x7fffffffULL   /* int, pid_t, an fd */
#define NUM_U32_MAX 0xffffffffULL   /* uid_t, gid_t, a 32-bit mask */

/* The digits of base (8, 10 or 16; hex letters either case) at *s,
 * no further than end, as many as there are: *v and *s moved past
 * them, 0; or -1 (*s unchanged) when there are none or the value is
 * above max.  No prefix, no sign. */
int num_scan(const char **s, const char *end, int base, uint64_t max, uint64_t *v);

/* The whole string s as a number of base (10, 8, or 16 with an
 * optional "0x"), or base 0: "0x" and hex digits, else decimal without
 * a leading zero (which C would read as octal).  0 and *v set, or -1
 * when s is not such a number <= max. */
int num_parse_base(const char *s, int base, uint64_t max, uint64_t *v);
/* decimal digits only */
int num_parse(const char *s, uint64_t max, uint64_t *v);

/* "SECS.FRAC": decimal seconds, then exactly ndec decimals */
int num_secs(const char *s, int ndec, uint64_t *sec, uint64_t *frac);
/* "A-B", two numbers of base joined by '-' (a maps range is hex) */
int num_range(const char *s, int base, uint64_t *a, uint64_t *b);
/* "A:B", two decimal numbers <= max joined by ':' (a device number) */
int num_pair(const char *s, uint64_t max, uint64_t *a, uint64_t *b);

#endif
