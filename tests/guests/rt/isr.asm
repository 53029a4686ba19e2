; Test-guest runtime: 32-bit interrupt stubs (one per vector) and fault-tolerant accesses.
; Intel SDM vol. 3A 6.12: exceptions 8, 10-14, 17, 21, 29, 30 push an error code.

global rt_isr_stubs, rt_try_read32, rt_try_write32, rt_try_read8
extern rt_isr, rt_recover_eip

section .text
bits 32

%macro STUB 1
	align 16
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
	push dword %1
%else
	push dword 0
	push dword %1
%endif
	jmp isr_common
%endmacro

; Stub i is at rt_isr_stubs + 16 * i.
align 16
rt_isr_stubs:
%assign i 0
%rep 256
	STUB i
%assign i i + 1
%endrep

; Stack here: vector, error code (or 0), EIP, CS, EFLAGS: struct rt_frame after PUSHAD.
isr_common:
	pushad
	cld
	push esp
	call rt_isr
	add esp, 4
	popad
	add esp, 8
	iretd

; int rt_try_read32(u32 addr, u32 *val): 0, or -1 if the load faulted.
rt_try_read32:
	mov edx, [esp + 4]
	mov dword [rt_recover_eip], .fault
	mov eax, [edx]
	mov dword [rt_recover_eip], 0
	mov ecx, [esp + 8]
	mov [ecx], eax
	xor eax, eax
	ret
.fault:
	mov eax, -1
	ret

; int rt_try_write32(u32 addr, u32 val)
rt_try_write32:
	mov edx, [esp + 4]
	mov eax, [esp + 8]
	mov dword [rt_recover_eip], .fault
	mov [edx], eax
	mov dword [rt_recover_eip], 0
	xor eax, eax
	ret
.fault:
	mov eax, -1
	ret

; int rt_try_read8(u32 addr, u8 *val)
rt_try_read8:
	mov edx, [esp + 4]
	mov dword [rt_recover_eip], .fault
	mov al, [edx]
	mov dword [rt_recover_eip], 0
	mov ecx, [esp + 8]
	mov [ecx], al
	xor eax, eax
	ret
.fault:
	mov eax, -1
	ret
