/* args.h - the numbers commands take as arguments: decimal digits only
 * (no sign, no space, no 0x), checked against a bound */
#ifndef CKPT_ARGS_H
#define CKPT_ARGS_H
#include <sys/types.h>

#include "num.h"   /* num_parse: such a number, for other bounds */

/* a pid operand, or usage_die(usage) */
pid_t pid_arg(const char *s, const char *usage);
/* a number option's argument in [min, max], or usage_die(usage) */
unsigned long long num_arg(const char *s, unsigned long long min,
			   unsigned long long max, const char *usage);

/* a stage's --offset: where its output starts in the stream, a whole
 * number of tar blocks; or usage_die(usage) */
unsigned long long offset_arg(const char *s, const char *usage);

#endif
