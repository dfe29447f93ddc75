/* inject.c - a function call inside a stopped thread (inject.h).
 *
 * The thread is seized and interrupted; its registers and extended
 * state are kept.  A call sets rip to the function, the arguments in
 * rdi, rsi and rdx, and a return address of 0 on a stack below the red
 * zone: the function's return faults at address 0, which stops the
 * thread again with SIGSEGV before any handler runs, and the return
 * value is in rax.  orig_rax = -1, so that no interrupted system call
 * is restarted into the call; putting every register back afterwards
 * restarts it as the kernel would have. */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "inject.h"

#define RED_ZONE 128
#define XSTATE_MAX 16384
#define HELD_MAX 16

struct inject {
	pid_t pid;
	struct user_regs_struct regs;      /* as it was */
	unsigned char xstate[XSTATE_MAX];
	struct iovec xs;
	uint64_t sp;                       /* below what inject_push wrote */
	int held[HELD_MAX], nheld;         /* signals that came meanwhile */
};

/* the next stop of the thread: its status, or -1 when it is gone */
static int stop_wait(struct inject *in)
{
	int st;

	while (waitpid(in->pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		warn("pid %d: ended while attached", (int)in->pid);
		return -1;
	}
	return st;
}

/* a signal-delivery-stop for sig: keep sig for later, let the thread
 * go on without it */
static int hold(struct inject *in, int sig)
{
	if (in->nheld < HELD_MAX)
		in->held[in->nheld++] = sig;
	return ptrace(PTRACE_CONT, in->pid, 0, 0);
}

struct inject *inject_attach(pid_t pid)
{
	struct inject *in = calloc(1, sizeof *in);
	int st;

	if (!in)
		die("out of memory");
	in->pid = pid;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
		warn("pid %d: ptrace:", (int)pid);
		free(in);
		return NULL;
	}
	/* signals may come first: held, until the interrupt's stop */
	while ((st = stop_wait(in)) >= 0 && (st >> 16) != PTRACE_EVENT_STOP)
		if (hold(in, WSTOPSIG(st)) < 0)
			st = -1;
	in->xs.iov_base = in->xstate;
	in->xs.iov_len = sizeof in->xstate;
	if (st < 0 || ptrace(PTRACE_GETREGS, pid, 0, &in->regs) < 0 ||
	    ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &in->xs) < 0) {
		warn("pid %d: its registers:", (int)pid);
		inject_detach(in);
		return NULL;
	}
	in->sp = (in->regs.rsp - RED_ZONE) & ~15ULL;
	return in;
}

int inject_push(struct inject *in, const void *buf, size_t len, uint64_t *at)
{
	struct iovec local = { (void *)buf, len }, remote;

	in->sp = (in->sp - len) & ~15ULL;
	remote.iov_base = (void *)in->sp;
	remote.iov_len = len;
	if (process_vm_writev(in->pid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
		warn("pid %d: write its stack at 0x%llx:", (int)in->pid, (unsigned long long)in->sp);
		return -1;
	}
	*at = in->sp;
	return 0;
}

/* until the call comes back (its return faults at 0): its registers
 * then in *r; 0, or -1 after a message */
static int call_wait(struct inject *in, uint64_t fn, struct user_regs_struct *r)
{
	int st;

	for (;;) {
		if ((st = stop_wait(in)) < 0)
			return -1;
		if ((st >> 16) == 0 && (WSTOPSIG(st) == SIGSEGV || WSTOPSIG(st) == SIGBUS ||
					WSTOPSIG(st) == SIGILL)) {
			if (ptrace(PTRACE_GETREGS, in->pid, 0, r) == 0 && r->rip == 0)
				break;
			/* the call itself faulted: stop here, put it all back */
			warn("pid %d: the call of 0x%llx faulted at 0x%llx (signal %d)",
			     (int)in->pid, (unsigned long long)fn, (unsigned long long)r->rip,
			     WSTOPSIG(st));
			return -1;
		}
		/* an event stop goes on; another signal waits its turn */
		if (((st >> 16) ? ptrace(PTRACE_CONT, in->pid, 0, 0) : hold(in, WSTOPSIG(st))) < 0) {
			warn("pid %d: during the call:", (int)in->pid);
			return -1;
		}
	}
	return 0;
}

int inject_call(struct inject *in, uint64_t fn, uint64_t a, uint64_t b, uint64_t c,
		uint64_t *ret)
{
	struct user_regs_struct r = in->regs;
	struct iovec local, remote;
	uint64_t zero = 0;

	/* the return address's slot: at the function's entry rsp + 8 is
	 * 16-aligned, as the ABI wants */
	in->sp &= ~15ULL;
	r.rsp = in->sp - 8;
	local = (struct iovec){ &zero, sizeof zero };
	remote = (struct iovec){ (void *)r.rsp, sizeof zero };
	if (process_vm_writev(in->pid, &local, 1, &remote, 1, 0) != sizeof zero) {
		warn("pid %d: write its stack at 0x%llx:", (int)in->pid, (unsigned long long)r.rsp);
		return -1;
	}
	in->sp -= 16;
	r.rip = fn;
	r.rdi = a;
	r.rsi = b;
	r.rdx = c;
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGS, in->pid, 0, &r) < 0 || ptrace(PTRACE_CONT, in->pid, 0, 0) < 0) {
		warn("pid %d: start the call:", (int)in->pid);
		return -1;
	}
	if (call_wait(in, fn, &r) < 0)
		return -1;
	*ret = r.rax;
	return 0;
}

void inject_detach(struct inject *in)
{
	int i;

	if (ptrace(PTRACE_SETREGS, in->pid, 0, &in->regs) < 0 ||
	    ptrace(PTRACE_SETREGSET, in->pid, NT_X86_XSTATE, &in->xs) < 0)
		warn("pid %d: put its registers back:", (int)in->pid);
	if (ptrace(PTRACE_DETACH, in->pid, 0, 0) < 0)
		warn("pid %d: detach:", (int)in->pid);
	for (i = 0; i < in->nheld; i++)
		kill(in->pid, in->held[i]);
	free(in);
}
