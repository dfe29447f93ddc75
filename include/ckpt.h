/* ckpt.h - a program's side of ckpt: whether it runs under the shim,
 * hooks the shim calls around a checkpoint, and a checkpoint the
 * program asks for itself (ckpt(3)).
 *
 * Nothing to link: the functions are the shim's (libckpt.so, loaded by
 * ckpt-run or ckpt-attach), declared weak here, so a program built with
 * this header runs the same without the shim, where ckpt_running() is 0
 * and ckpt_hook() does nothing.  A shim loaded after the program started
 * (ckpt-attach) is found at the call, with dlsym: glibc 2.34 or later
 * has it in libc (older ones: link with -ldl). */
#ifndef CKPT_H
#define CKPT_H
#include <dlfcn.h>
#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ckpt_event {
	CKPT_EVENT_CHECKPOINT = 1,  /* a checkpoint begins: the program's
	                             * threads run; they are frozen after */
	CKPT_EVENT_RESUME = 2,      /* it is over and the program goes on
	                             * (also when it failed) */
	CKPT_EVENT_RESTORE = 3,     /* the program was restored from an
	                             * image and runs again */
};

typedef void (*ckpt_hook_fn)(enum ckpt_event event, void *arg);

/* what ckpt_checkpoint_file and ckpt_checkpoint_fd return */
enum ckpt_after {
	CKPT_WRITTEN = 1,           /* the image is whole; the program goes on */
	CKPT_RESTORED = 2,          /* this is the program restored from it */
};

/* the shim's (weak: 0 without it) */
int ckpt_shim_hook(ckpt_hook_fn fn, void *arg) __attribute__((weak));
int ckpt_shim_checkpoint(const char *path, int fd, unsigned flags) __attribute__((weak));

/* RTLD_DEFAULT, which glibc declares only with _GNU_SOURCE: its value
 * there and in musl */
#ifdef RTLD_DEFAULT
#define CKPT_RTLD_DEFAULT RTLD_DEFAULT
#else
#define CKPT_RTLD_DEFAULT ((void *)0)
#endif

typedef int (*ckpt_shim_hook_t)(ckpt_hook_fn fn, void *arg);
typedef int (*ckpt_shim_checkpoint_t)(const char *path, int fd, unsigned flags);

/* The shim's function name: bound at the program's start when the
 * shim was there (ckpt-run), else looked up now, for a shim loaded
 * since (ckpt-attach loads it RTLD_GLOBAL); 0 without the shim.  (A
 * union: ISO C has no cast from dlsym's pointer to a function's.) */
static inline void *ckpt_shim_find(void (*bound)(void), const char *name)
{
	union { void (*f)(void); void *p; } u;

	if (!bound)
		return dlsym(CKPT_RTLD_DEFAULT, name);
	u.f = bound;
	return u.p;
}

static inline ckpt_shim_hook_t ckpt_shim_hook_find(void)
{
	union { void *p; ckpt_shim_hook_t f; } u;

	u.p = ckpt_shim_find((void (*)(void))ckpt_shim_hook, "ckpt_shim_hook");
	return u.f;
}

static inline ckpt_shim_checkpoint_t ckpt_shim_checkpoint_find(void)
{
	union { void *p; ckpt_shim_checkpoint_t f; } u;

	u.p = ckpt_shim_find((void (*)(void))ckpt_shim_checkpoint, "ckpt_shim_checkpoint");
	return u.f;
}

/* 1 under the ckpt shim (a lookup: not for a signal handler) */
static inline int ckpt_running(void)
{
	return ckpt_shim_hook_find() != 0;
}

/* Call fn(event, arg) at each event, on the shim's control thread (a
 * thread of the program, never in a signal handler), in the order the
 * hooks were added, while the other threads run; a hook should be
 * quick (a checkpoint waits for it).  0, or -1 without the shim or
 * with 16 hooks already. */
static inline int ckpt_hook(ckpt_hook_fn fn, void *arg)
{
	ckpt_shim_hook_t f = ckpt_shim_hook_find();

	return f ? f(fn, arg) : -1;
}

/* A checkpoint of this process (and its descendants, as ckpt-freeze
 * PID), written by ckpt-freeze as a raw stream to the file path (a
 * new file, renamed over path once whole, mode 0600): the calling
 * thread waits until it is whole, CKPT_WRITTEN, and in the process a
 * restore of that image makes, it returns CKPT_RESTORED.  The hooks
 * run around it as around any checkpoint, before it returns.  -1 with
 * errno: ENOSYS without the shim, EBUSY while another thread's is
 * under way, EIO when ckpt-freeze failed (it said why on stderr),
 * else why the file or ckpt-freeze could not be opened or run; the
 * program runs on as before.  flags: 0. */
static inline int ckpt_checkpoint_file(const char *path, unsigned flags)
{
	ckpt_shim_checkpoint_t f = ckpt_shim_checkpoint_find();

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(path, -1, flags);
}

/* The same, written to fd (open for writing: a pipe to ckpt-pack, a
 * socket, a file at its offset), which stays open.  In the restored
 * process fd is what the image made of it (a pipe's write end with no
 * reader left): close it rather than write there. */
static inline int ckpt_checkpoint_fd(int fd, unsigned flags)
{
	ckpt_shim_checkpoint_t f = ckpt_shim_checkpoint_find();

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f((const char *)0, fd, flags);
}

#ifdef __cplusplus
}
#endif

#endif
