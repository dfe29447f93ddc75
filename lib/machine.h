/* machine.h - what a restored process takes from the machine as it is
 * and the image records, compared (formats/core.md): the vDSO by a
 * hash of its bytes, the CPU's xsave features.  The hash is written
 * (lib/core.c) and checked (here) by this one function. */
#ifndef CKPT_MACHINE_H
#define CKPT_MACHINE_H
#include <stddef.h>
#include <stdint.h>

struct img_core;

/* FNV-1a 64 of a vDSO's bytes: enough to tell one kernel's from another's */
uint64_t vdso_hash(const void *p, size_t n);

/* our own vDSO (the same kernel maps the same one in every process)
 * and XCR0 must be the image's: 0, or -1 after a message naming the pid */
int machine_check(const struct img_core *c);

#endif
