/* inject.h - calling a function inside another process (ckpt-attach):
 * its main thread, stopped with ptrace, runs fn(a, b) on its own
 * stack and comes back to us, every register as it was.  x86-64. */
#ifndef CKPT_INJECT_H
#define CKPT_INJECT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct inject;

/* PTRACE_SEIZE pid's main thread and stop it: NULL after a message */
struct inject *inject_attach(pid_t pid);
/* copy len bytes below the thread's stack pointer (past the red zone);
 * their address in *at: 0, or -1 after a message */
int inject_push(struct inject *in, const void *buf, size_t len, uint64_t *at);
/* fn(a, b, c) in the thread; its return value in *ret: 0, or -1 after
 * a message.  Signals that come meanwhile are held and given back at
 * inject_detach. */
int inject_call(struct inject *in, uint64_t fn, uint64_t a, uint64_t b, uint64_t c,
		uint64_t *ret);
/* registers back as they were, signals held given back, detached */
void inject_detach(struct inject *in);

#endif
