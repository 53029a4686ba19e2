; Test-guest runtime: 64-bit exception stubs (IA-32e IDT) and the far call into 64-bit code.
; AMD APM vol. 2 / Intel SDM vol. 3A 6.14: 64-bit interrupt frames, IRETQ.

global rt_isr64_stubs, rt_call64
extern rt_last_fault, rt_recover_eip, rt_fatal64

FAULT_VECTOR equ 0
FAULT_ERROR equ 4
FAULT_EIP equ 8
FAULT_CR2 equ 12
FAULT_COUNT equ 16
CODE32_SEL equ 0x08
CODE64_SEL equ 0x18

section .text

; u32 rt_call64(u32 fn, u32 arg): called in compatibility mode.
bits 32
rt_call64:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov eax, [ebp + 8]
	mov ecx, [ebp + 12]
	call CODE64_SEL:enter64
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

bits 64
enter64:
	mov esp, esp            ; zero-extend: the upper halves are undefined after compat mode
	mov ebp, ebp
	mov eax, eax
	mov edi, ecx
	call rax
	retf                    ; 32-bit far return to the compatibility-mode caller

%macro STUB64 1
	align 16
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
	push qword %1
%else
	push qword 0
	push qword %1
%endif
	jmp isr64_common
%endmacro

align 16
rt_isr64_stubs:
%assign i 0
%rep 256
	STUB64 i
%assign i i + 1
%endrep

; Stack: vector, error, RIP, CS, RFLAGS, RSP, SS (8 bytes each).
isr64_common:
	push rax
	push rdx
	mov eax, [rsp + 16]
	mov [rt_last_fault + FAULT_VECTOR], eax
	mov eax, [rsp + 24]
	mov [rt_last_fault + FAULT_ERROR], eax
	mov rax, [rsp + 32]
	mov [rt_last_fault + FAULT_EIP], eax
	mov rax, cr2
	mov [rt_last_fault + FAULT_CR2], eax
	inc dword [rt_last_fault + FAULT_COUNT]
	mov eax, [rt_recover_eip]
	test eax, eax
	jz .fatal
	mov dword [rt_recover_eip], 0
	mov [rsp + 32], rax
	jmp .out
.fatal:
	mov qword [rsp + 32], rt_fatal64
	mov qword [rsp + 40], CODE32_SEL
.out:
	pop rdx
	pop rax
	add rsp, 16
	iretq
