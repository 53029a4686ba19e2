; Test guest "pgperm": ring-3 excursions and fault-tolerant calls (32-bit and compatibility mode).
; SDM vol. 3A 6.12 (privilege changes on interrupts), 7.7 (64-bit TSS), 6.14.2 (64-bit frames).

global pgp_user_run, pgp_user_return, pgp_isr80_64, pgp_try_call
global pgp_user_stub, pgp_user_stub_after, pgp_user_stub_end
extern rt_recover_eip

KERNEL_CS equ 0x08
KERNEL_DS equ 0x10
USER_CS equ 0x43                ; 0x40 | RPL 3
USER_DS equ 0x4b                ; 0x48 | RPL 3

section .text
bits 32
; u32 pgp_user_run(u32 op, u32 addr, u32 stub, u32 stack_top): run the user stub at CPL 3
; with EAX = op, EBX = addr; it comes back through INT 0x80 (pgp_user_return), EAX = result.
pgp_user_run:
	push ebp
	push ebx
	push esi
	push edi
	mov [kernel_esp], esp
	mov eax, [esp + 20]
	mov ebx, [esp + 24]
	mov ecx, [esp + 28]
	mov edx, [esp + 32]
	mov si, USER_DS
	mov ds, si
	mov es, si
	push dword USER_DS      ; SS
	push edx                ; ESP
	push dword 0x2          ; EFLAGS: IF clear, IOPL 0
	push dword USER_CS
	push ecx                ; EIP
	iret

; Back in ring 0 (from the INT 0x80 handler, any stack): the caller's state again.
pgp_user_return:
	mov cx, KERNEL_DS
	mov ss, cx
	mov ds, cx
	mov es, cx
	mov esp, [kernel_esp]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; The ring-3 code, copied to a user page (position independent). EAX: 0 read, 1 write,
; 2 fetch (call). A fault resumes at pgp_user_stub_after (the kernel arms it).
pgp_user_stub:
	cmp eax, 1
	je .write
	cmp eax, 2
	je .fetch
	mov eax, [ebx]
	jmp pgp_user_stub_after
.write:
	mov dword [ebx], 0x600dc0de
	jmp pgp_user_stub_after
.fetch:
	call ebx
pgp_user_stub_after:
	int 0x80
pgp_user_stub_end:

; int pgp_try_call(u32 addr): call code at addr at CPL 0; -1 if that faulted.
pgp_try_call:
	push ebx
	mov [call_esp], esp
	mov eax, [esp + 8]
	mov dword [rt_recover_eip], .fault
	call eax
	mov dword [rt_recover_eip], 0
	pop ebx
	xor eax, eax
	ret
.fault:
	mov esp, [call_esp]
	pop ebx
	mov eax, -1
	ret

bits 64
; INT 0x80 from ring 3 in long mode (64-bit IDT, DPL 3 gate): back to compatibility mode.
pgp_isr80_64:
	push qword KERNEL_CS
	mov eax, pgp_user_return
	push rax
	retfq

section .bss
kernel_esp: resd 1
call_esp: resd 1
