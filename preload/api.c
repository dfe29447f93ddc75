/* api.c - the program's hooks (include/ckpt.h): added by any thread
 * of the program, run by the control thread around a checkpoint, never
 * in a signal handler nor while the program's threads are frozen. */
#include <limits.h>
#include <linux/futex.h>
#include <stddef.h>

#include "../include/ckpt.h"
#include "shim.h"
#include "rawsys.h"

#define HOOKS_MAX 16

static struct {
	ckpt_hook_fn fn;
	void *arg;
} hooks[HOOKS_MAX];
static int nhooks;       /* slots filled: published after the slot */
/* CHECKPOINT ran: one RESUME (or RESTORE) follows; 0 (and a futex
 * wake) once it has run, for a caller of ckpt_checkpoint_file */
static int resume_owed;

__attribute__((visibility("default")))
int ckpt_shim_hook(ckpt_hook_fn fn, void *arg)
{
	int i = __atomic_load_n(&nhooks, __ATOMIC_ACQUIRE);

	/* several threads may add at once: claim a slot, then fill it */
	do {
		if (i >= HOOKS_MAX || !fn)
			return -1;
	} while (!__atomic_compare_exchange_n(&nhooks, &i, i + 1, 0, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	__atomic_store_n(&hooks[i].arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&hooks[i].fn, fn, __ATOMIC_RELEASE);
	return 0;
}

static void hooks_run(enum ckpt_event ev)
{
	int i, n = __atomic_load_n(&nhooks, __ATOMIC_ACQUIRE);
	ckpt_hook_fn fn;

	for (i = 0; i < n; i++)
		if ((fn = __atomic_load_n(&hooks[i].fn, __ATOMIC_ACQUIRE)))
			fn(ev, hooks[i].arg);
}

void api_checkpoint(void)
{
	__atomic_store_n(&resume_owed, 1, __ATOMIC_RELEASE);
	hooks_run(CKPT_EVENT_CHECKPOINT);
}

static void resume_paid(void)
{
	__atomic_store_n(&resume_owed, 0, __ATOMIC_RELEASE);
	sys_futex(&resume_owed, FUTEX_WAKE, INT_MAX, NULL);
}

void api_resumed(void)
{
	if (!resume_owed)
		return;
	hooks_run(CKPT_EVENT_RESUME);
	resume_paid();
}

void api_restored(void)
{
	hooks_run(CKPT_EVENT_RESTORE);
	resume_paid();
	selfckpt_restored();   /* after the hooks, as after RESUME */
}

/* a thread of the program: until no checkpoint is between its
 * CHECKPOINT and its RESUME hooks */
void api_wait_resumed(void)
{
	int v;

	while ((v = __atomic_load_n(&resume_owed, __ATOMIC_ACQUIRE)))
		sys_futex(&resume_owed, FUTEX_WAIT, v, NULL);
}
