; Test guest "paging": 64-bit helpers run through rt_call64 and a fault-tolerant call.
; Argument block (RDI): +0 linear address, +8 value, +16 result.

global pg_store64, pg_load64, pg_try_load64, pg_try_call
extern rt_recover_eip

section .text
bits 64
; Store the value at the address.
pg_store64:
	mov rcx, [rdi]
	mov rax, [rdi + 8]
	mov [rcx], rax
	xor eax, eax
	ret

; Load from the address into the result.
pg_load64:
	mov rcx, [rdi]
	mov rax, [rcx]
	mov [rdi + 16], rax
	xor eax, eax
	ret

; Like pg_load64, but returns 1 when the load faulted (the fault is in rt_last_fault).
pg_try_load64:
	mov rcx, [rdi]
	mov dword [rt_recover_eip], .fault
	mov rax, [rcx]
	mov dword [rt_recover_eip], 0
	mov [rdi + 16], rax
	xor eax, eax
	ret
.fault:
	mov eax, 1
	ret

bits 32
; int pg_try_call(u32 addr): call code at addr (it must return); -1 if the call faulted.
pg_try_call:
	push ebx
	mov [saved_esp], esp
	mov eax, [esp + 8]
	mov dword [rt_recover_eip], .fault
	call eax
	mov dword [rt_recover_eip], 0
	pop ebx
	xor eax, eax
	ret
.fault:
	mov esp, [saved_esp]
	pop ebx
	mov eax, -1
	ret

section .bss
saved_esp: resd 1
