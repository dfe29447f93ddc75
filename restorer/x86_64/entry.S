/* entry.S - the restorer's code that C cannot express: switching to the
 * hole's stack, starting a thread with no stack of its own, and the
 * trampoline page, the only part of the restorer left mapped at the end.
 *
 * May not: use the stack between clone3 and a thread's jump (the child
 * runs on its parent's stack until it loads its park rsp), or refer to
 * anything outside the trampoline page from the code between
 * rst_tramp_begin and rst_tramp_end (it is copied and runs after the
 * rest of the restorer is unmapped). */

/* struct plan_thread (lib/plan.h) */
#define T_GS    16
#define T_PARK  24
/* the trampoline page: counter at 0, threads done with their
 * credentials at 8, the go word at 16, the main thread's park at 64,
 * code at 128 (restorer/threads.c) */
#define TP_CREDS 8
#define TP_GO 16
#define TP_PARK 64
#define TP_CODE 128

/* a struct ckpt_park at off(base): its rip into r11, the rest into
 * place (the stack pointer and the callee-saved registers) */
	.macro PARK_LOAD off, base
	mov \off+0(\base), %r11
	mov \off+8(\base), %rsp
	mov \off+16(\base), %rbx
	mov \off+24(\base), %rbp
	mov \off+32(\base), %r12
	mov \off+40(\base), %r13
	mov \off+48(\base), %r14
	mov \off+56(\base), %r15
	.endm

	.text

/* _Noreturn void rst_switch(uint64_t sp, void (*fn)(struct rst *), struct rst *arg) */
	.globl rst_switch
	.hidden rst_switch
	.type rst_switch, @function
rst_switch:
	mov %rdi, %rsp
	mov %rdx, %rdi
	xor %ebp, %ebp
	call *%rsi
	ud2
	.size rst_switch, .-rst_switch

/* long rst_clone_thread(void *args, uint64_t size, const struct plan_thread *t,
 *                       uint64_t tramp, struct rst *r)
 * Parent: returns the tid or -errno.  Child, on the thread stack the
 * args gave: sets its gs base if any, calls rst_thread_setup(r, t), counts
 * itself done at tramp+TP_CREDS (from then on the parent may give the
 * stack to the next thread, so nothing here touches it again), loads
 * its park, and jumps to tramp_child in the trampoline page.  The
 * syscalls clobber only rax, rcx and r11; r12, r13 and r14 are kept
 * across the call by the C convention until the park replaces them. */
	.globl rst_clone_thread
	.hidden rst_clone_thread
	.type rst_clone_thread, @function
rst_clone_thread:
	mov %r8, %r10
	mov %rdx, %r8
	mov %rcx, %r9
	mov $435, %eax          /* clone3 */
	syscall
	test %rax, %rax
	jz 1f
	ret
1:	mov %r8, %r12           /* t */
	mov %r9, %r13           /* tramp */
	mov %r10, %r14          /* r */
	mov T_GS(%r12), %rsi
	test %rsi, %rsi
	jz 2f
	mov $0x1001, %edi       /* arch_prctl(ARCH_SET_GS, gs) */
	mov $158, %eax
	syscall
2:	mov %r14, %rdi
	mov %r12, %rsi
	call rst_thread_setup
	mov %r12, %r8
	mov %r13, %rdi
	lock incl TP_CREDS(%rdi)
	PARK_LOAD T_PARK, %r8
	lea TP_CODE+(rst_tramp_child-rst_tramp_begin)(%rdi), %rax
	jmp *%rax
	.size rst_clone_thread, .-rst_clone_thread

/* The trampoline: copied to tramp+TP_CODE.  Every thread leaves the
 * restorer through it with rdi = the trampoline page and rsi = its
 * size (so the shim may unmap it), rax = 1, and its park loaded. */
	.globl rst_tramp_begin, rst_tramp_end, rst_tramp_main
	.hidden rst_tramp_begin, rst_tramp_end, rst_tramp_main
rst_tramp_begin:
/* a started thread: rdi = page, r11 = park rip, park registers loaded.
 * It waits for the go (the main thread makes the POSIX timers
 * meanwhile: restorer/timers.c); a syscall clobbers rax, rcx and r11,
 * so the rip waits in r9 and the page in r8. */
rst_tramp_child:
	mov %r11, %r9
	mov %rdi, %r8
1:	cmpl $0, TP_GO(%r8)
	jne 2f
	lea TP_GO(%r8), %rdi    /* futex(go, FUTEX_WAIT_PRIVATE, 0, NULL) */
	mov $128, %esi
	xor %edx, %edx
	xor %r10d, %r10d
	mov $202, %eax
	syscall
	jmp 1b
2:	mov %r8, %rdi
	mov %r9, %r11
	lock incl (%rdi)
	mov $4096, %esi
	mov $1, %eax
	jmp *%r11

/* the main thread, last: (page, rest, rest_len, children) */
rst_tramp_main:
	mov %rdi, %r12
	mov %rsi, %r13
	mov %rdx, %r14
	mov %ecx, %r15d
1:	cmp %r15d, (%r12)       /* wait until every child left the hole */
	jae 2f
	mov $24, %eax           /* sched_yield */
	syscall
	jmp 1b
2:	mov $11, %eax           /* munmap(rest, rest_len): all but this page */
	mov %r13, %rdi
	mov %r14, %rsi
	syscall
	mov %r12, %rdi
	mov $4096, %esi
	PARK_LOAD TP_PARK, %rdi
	mov $1, %eax
	jmp *%r11
rst_tramp_end:

	.section .note.GNU-stack,"",@progbits
