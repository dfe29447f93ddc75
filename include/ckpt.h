/* ckpt.h - a program's side of ckpt: whether it runs under the shim,
 * and hooks the shim calls around a checkpoint (ckpt(3)).
 *
 * Nothing to link: the functions are the shim's (libckpt.so, loaded by
 * ckpt-run or ckpt-attach), declared weak here, so a program built with
 * this header runs the same without the shim, where ckpt_running() is 0
 * and ckpt_hook() does nothing. */
#ifndef CKPT_H
#define CKPT_H

enum ckpt_event {
	CKPT_EVENT_CHECKPOINT = 1,  /* a checkpoint begins: the program's
	                             * threads run; they are frozen after */
	CKPT_EVENT_RESUME = 2,      /* it is over and the program goes on
	                             * (also when it failed) */
	CKPT_EVENT_RESTORE = 3,     /* the program was restored from an
	                             * image and runs again */
};

typedef void (*ckpt_hook_fn)(enum ckpt_event event, void *arg);

/* the shim's (weak: 0 without it) */
int ckpt_shim_hook(ckpt_hook_fn fn, void *arg) __attribute__((weak));

/* 1 under the ckpt shim */
static inline int ckpt_running(void)
{
	return ckpt_shim_hook != 0;
}

/* Call fn(event, arg) at each event, on the shim's control thread (a
 * thread of the program, never in a signal handler), in the order the
 * hooks were added, while the other threads run; a hook should be
 * quick (a checkpoint waits for it).  0, or -1 without the shim or
 * with 16 hooks already. */
static inline int ckpt_hook(ckpt_hook_fn fn, void *arg)
{
	return ckpt_shim_hook ? ckpt_shim_hook(fn, arg) : -1;
}

#endif
