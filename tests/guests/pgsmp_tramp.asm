; Test guest "pgsmp": real-mode AP start-up code (copied to 0x8000, entered by a SIPI) and the
; 32-bit AP entry. Intel SDM vol. 3A 8.4.4 (MP initialization), 9.9.1 (to protected mode).

global pgsmp_tramp_start, pgsmp_tramp_end
extern rt_gdt, pgsmp_ap_main

AP_STACK_SIZE equ 8192
MAX_APS equ 7

section .text
bits 16
; Position independent: runs at CS:0 with CS = page >> 4.
pgsmp_tramp_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	o32 lgdt [gdtr - pgsmp_tramp_start]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword 0x08:ap_entry32
align 4
gdtr:
	dw 6 * 8 - 1
	dd rt_gdt
pgsmp_tramp_end:

bits 32
ap_entry32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, 1
	lock xadd [next_ap], eax        ; eax = this AP's CPU index (1, 2, ...)
	cmp eax, MAX_APS
	ja .park
	mov esp, eax
	shl esp, 13
	add esp, ap_stacks
	push eax
	call pgsmp_ap_main
.park:
	cli
	hlt
	jmp .park

section .data
next_ap: dd 1                    ; the BSP is CPU 0

section .bss
align 16
ap_stacks: resb AP_STACK_SIZE * MAX_APS
