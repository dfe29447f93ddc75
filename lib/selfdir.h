/* selfdir.h - where this program lives: its sibling commands and the
 * shim are found relative to it, in the build tree and once installed */
#ifndef CKPT_SELFDIR_H
#define CKPT_SELFDIR_H
#include <stddef.h>

/* the directory of /proc/self/exe into buf; 0 or -errno */
int self_dir(char *buf, size_t len);
/* the shim: $CKPT_SHIM, else <dir of this program>/../lib/ckpt/libckpt.so
 * (the same relative place in the build tree and once installed),
 * readable; dies with a message otherwise */
void shim_path(char *buf, size_t len);

#endif
