/* ground.h - the restorer's state and the calls every part of it
 * makes (ground.c): fail or warn with a number on the status fd, read
 * the plan fd.  It includes nothing of the restorer's layers.
 *
 * May not: malloc, brk, stdio, errno, TLS. */
#ifndef RST_GROUND_H
#define RST_GROUND_H
#include <stdint.h>

#include "plan.h"

#define PAGE 4096UL
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

struct rst {
	struct plan_hdr hdr;
	int fd_plan, fd_status;
	/* the hole: [tramp][vdso slot][thread stack][stack][image copy]
	 * [plan body] */
	uint64_t tramp, slot, tstack, stack, image, body;
	uint64_t base, image_len;  /* where the kernel loaded us */
	struct plan_region *regions;
	struct plan_run *runs;
	struct plan_thread *threads;
	const uint32_t *groups;
	const uint32_t *cloexec;
	const struct plan_timer *timers;
	const struct plan_run *guards;
	const struct plan_siginfo *siginfo;
	const char *strings;
	uint64_t strings_len;
	uint64_t own[3][2];        /* our vvar, vvar_vclock, vdso: in the slot */
};

/* ground.c: the status fd and the plan fd */
_Noreturn void rst_fail(struct rst *r, int step, long err, uint64_t addr);
void rst_warn(struct rst *r, int step, long err, uint64_t addr);
/* read exactly n bytes from the plan fd, or fail with step */
void rst_read(struct rst *r, void *buf, uint64_t n, int step, uint64_t addr);

#endif
