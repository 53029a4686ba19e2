; AP start-up code (Intel SDM vol. 3A 9.4.4 and 10.8.5): a SIPI starts an AP in
; real mode at TRAMPOLINE_PHYS; it goes straight to long mode with a small page
; table in the trampoline area (identity map of the first 2 MiB plus the
; kernel's upper-half PML4 entries) and jumps to the C entry point.
; kernel/smp.c copies this blob to TRAMPOLINE_PHYS and fills the parameters.
bits 16
section .rodata
align 16
global trampoline_start, trampoline_end, trampoline_params
trampoline_start:

%define TRAMP_BASE 0x8000                 ; must match TRAMPOLINE_PHYS in kernel/smp.c
%define T(x) (TRAMP_BASE + (x) - trampoline_start)

	cli
	cld
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	o32 lgdt [T(tramp_gdt_ptr)]           ; o32: a plain lgdt loads a 24-bit base
	mov eax, cr4
	or eax, 1 << 5                        ; PAE
	mov cr4, eax
	mov eax, [T(p_cr3_low)]
	mov cr3, eax
	mov ecx, 0xc0000080                   ; EFER
	mov eax, [T(p_efer)]
	xor edx, edx
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | (1 << 5) | 1   ; PG, WP, NE, PE
	mov cr0, eax
	jmp dword 0x08:T(tramp_long)

bits 64
tramp_long:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, [T(p_stack)]
	mov rdi, [T(p_arg)]
	mov rax, [T(p_entry)]
	xor ebp, ebp
	push 0                                ; fake return address ends stack traces
	jmp rax

align 16
tramp_gdt:
	dq 0
	dq 0x00af9a000000ffff                 ; 0x08: 64-bit code
	dq 0x00cf92000000ffff                 ; 0x10: data
tramp_gdt_ptr:
	dw tramp_gdt_ptr - tramp_gdt - 1
	dd T(tramp_gdt)

align 8
trampoline_params:
p_cr3_low: dq 0        ; physical address of the trampoline PML4 (< 4 GiB)
p_efer:    dq 0        ; EFER value to load (LME, NXE as on the boot CPU)
p_stack:   dq 0        ; initial stack pointer
p_entry:   dq 0        ; C entry point: void entry(void *arg)
p_arg:     dq 0
trampoline_end:
