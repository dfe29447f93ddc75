/* park.S - the two places a restored thread starts: a thread's park
 * (setjmp-like: returns 0 when saving, 1 when a restorer jumps here with
 * rax = 1 and the saved registers) and the control thread's restart
 * entry.  Layout of struct ckpt_park (lib/proto.h):
 * rip, rsp, rbx, rbp, r12, r13, r14, r15. */
	.text
	.globl ckpt_park_save
	.hidden ckpt_park_save
	.type ckpt_park_save, @function
ckpt_park_save:
	mov (%rsp), %rax
	mov %rax, 0(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 8(%rdi)
	mov %rbx, 16(%rdi)
	mov %rbp, 24(%rdi)
	mov %r12, 32(%rdi)
	mov %r13, 40(%rdi)
	mov %r14, 48(%rdi)
	mov %r15, 56(%rdi)
	xor %eax, %eax
	ret
	.size ckpt_park_save, . - ckpt_park_save

/* the restorer starts the control thread here on its old stack, with
 * rdi, rsi = its trampoline page and size: passed on as arguments */
	.globl ckpt_restart_entry
	.hidden ckpt_restart_entry
	.type ckpt_restart_entry, @function
ckpt_restart_entry:
	and $-16, %rsp
	xor %ebp, %ebp
	call ckpt_control_restart
	ud2
	.size ckpt_restart_entry, . - ckpt_restart_entry

	.section .note.GNU-stack, "", @progbits
