/* clone.S - a raw clone(2) whose child runs fn(arg) on stack and never
 * returns (preload/cow.c): long ckpt_clone(unsigned long flags,
 * void *stack_top, void (*fn)(void *), void *arg).  The parent gets the
 * child's pid or -errno.  No libc: glibc's clone would touch errno.
 * ckpt_clone_tid(..., int *tid) also gives the kernel tid as both the
 * parent's and the child's tid word, for CLONE_PARENT_SETTID and
 * CLONE_CHILD_CLEARTID (preload/selfckpt.c). */
	.text
	.globl ckpt_clone
	.hidden ckpt_clone
	.type ckpt_clone, @function
	.globl ckpt_clone_tid
	.hidden ckpt_clone_tid
	.type ckpt_clone_tid, @function
ckpt_clone:
	xor %r8d, %r8d          /* no tid word */
ckpt_clone_tid:
	and $-16, %rsi
	sub $16, %rsi
	mov %rdx, 0(%rsi)       /* fn, then arg: popped by the child */
	mov %rcx, 8(%rsi)
	mov $56, %eax           /* SYS_clone(flags, newsp, ptid, ctid, tls) */
	mov %r8, %rdx
	mov %r8, %r10
	xor %r8d, %r8d
	syscall
	test %rax, %rax
	jz 1f
	ret
1:	xor %ebp, %ebp
	pop %rax
	pop %rdi
	call *%rax
	mov $60, %eax           /* fn returned: exit(0), never back here */
	xor %edi, %edi
	syscall
	hlt
	.size ckpt_clone, . - ckpt_clone
	.size ckpt_clone_tid, . - ckpt_clone_tid
	.section .note.GNU-stack,"",@progbits
