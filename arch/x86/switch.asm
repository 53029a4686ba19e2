; Kernel thread context switch (System V ABI: only callee-saved registers survive a call).
bits 64
section .text

; struct thread *switch_to(struct thread *prev, struct thread *next)
; Saves prev's stack pointer in prev->rsp (offset 0), resumes next; returns prev
; in the context of next (so the scheduler can finish with prev on next's stack).
global switch_to
switch_to:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, [rsi]
	mov rax, rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; First code of a new thread: switch_to "returns" here with prev in rax.
extern thread_start
global thread_entry_trampoline
thread_entry_trampoline:
	mov rdi, rax
	xor ebp, ebp
	call thread_start
	ud2
