/* restorer.h - the layers of the restorer, each a file, called by
 * main.c in the order of doc/restore.md; below them all, ground.h.
 *
 * May not: malloc, brk, stdio, errno, TLS, or any libc call but the
 * compiler's memcpy/memset.  Every failure goes through rst_fail(),
 * which reports a number on the status fd and exits: the restorer never
 * prints, ckpt-thaw does. */
#ifndef RST_RESTORER_H
#define RST_RESTORER_H
#include <stdint.h>

#include "ground.h"

/* move.c: where the kernel loaded us (base, image_len); then a copy of
 * the image in the hole, relocated there: returns copy - base */
void image_measure(struct rst *r);
uint64_t self_copy(struct rst *r);
/* clear.c: unmap all that is not the hole, park our vdso in the slot */
void old_clear(struct rst *r);
/* mem.c */
void regions_map(struct rst *r);
void pages_read(struct rst *r);
void regions_protect(struct rst *r);
void regions_advise(struct rst *r);
/* growsdown.c: the page below each growsdown region held by a guard
 * from before the region is mapped until the program runs; 0: none */
uint64_t grows_guard(const struct rst *r, const struct plan_region *g);
void grows_guard_map(struct rst *r, const struct plan_region *g);
void grows_unguard(struct rst *r);
int grows_is_guard(const struct rst *r, const struct plan_region *next, uint64_t start,
		   uint64_t end);
/* proc.c */
void vdso_restore(struct rst *r);
void proc_restore(struct rst *r);
/* creds.c: the calling thread takes t's credentials */
void rst_creds(struct rst *r, const struct plan_thread *t);
/* timers.c: while every thread waits at the go */
void timers_restore(struct rst *r);
int timer_signal_raise(struct rst *r, int tid, int sig);
/* threads.c; rst_thread_setup: a started thread's own state (its
 * credentials, its queued signals), on the thread stack */
void rst_thread_setup(struct rst *r, const struct plan_thread *t);
_Noreturn void threads_start(struct rst *r);

/* x86_64/entry.S */
_Noreturn void rst_switch(uint64_t sp, void (*fn)(struct rst *), struct rst *arg);
/* clone3 a thread (on the thread stack the args give) that calls
 * rst_thread_setup(r, t), counts itself at tramp + TRAMP_CREDS, waits in the
 * trampoline page until the word at tramp + TRAMP_GO is set, and jumps
 * to its park; returns its tid or -errno in the parent only */
long rst_clone_thread(void *args, uint64_t size, const struct plan_thread *t, uint64_t tramp,
		      struct rst *r);
/* the trampoline code, copied to tramp + TRAMP_CODE; its main entry is
 * _Noreturn void (uint64_t tramp, uint64_t rest, uint64_t rest_len,
 * uint32_t children) */
extern const char rst_tramp_begin[], rst_tramp_main[], rst_tramp_end[];
#define TRAMP_CREDS 8      /* threads done with rst_creds: off the stack */
#define TRAMP_GO 16        /* set (and futex-woken) when threads may run */
#define TRAMP_PARK 64
#define TRAMP_CODE 128

#endif
