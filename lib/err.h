/* err.h - messages as "ckpt-NAME: what: why" on stderr.
 * A format ending in ':' gets ": strerror(errno)" appended. */
#ifndef CKPT_ERR_H
#define CKPT_ERR_H

extern const char *argv0;   /* set by main: basename of argv[0] */

void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* like die/warn, for a negative -errno value instead of errno */
void warnerr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void dieerr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* print the usage line to stderr and exit 2 */
_Noreturn void usage_die(const char *usage);
void prog_init(char **argv);

#endif
