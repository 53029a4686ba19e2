; Interrupt and exception entry stubs for all 256 vectors (Intel SDM vol. 3A 6.14).
; Each stub makes the stack look the same (error code or 0, then the vector) and
; jumps to trap_common, which saves the registers as struct trap_frame (asm/trap.h).
bits 64
section .text
extern trap_dispatch

; Vectors for which the CPU pushes an error code.
%define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

align 16
trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	cld
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16                     ; vector and error code
	iretq

%assign v 0
%rep 256
align 16
trap_stub_ %+ v:
%if HAS_ERR(v) == 0
	push 0
%endif
	push v
	jmp trap_common
%assign v v + 1
%endrep

section .rodata
global trap_stub_table
align 8
trap_stub_table:
%assign v 0
%rep 256
	dq trap_stub_ %+ v
%assign v v + 1
%endrep
