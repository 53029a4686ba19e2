; Test guest "smp": real-mode AP start-up code (copied below 1 MiB, entered by a SIPI),
; and the 32-bit AP entry. Intel SDM vol. 3A 8.4.4 (MP initialization), 9.9.1 (to protected mode).

global smp_tramp_start, smp_tramp_end, smp_ap_entry32, smp_ap_next
extern rt_gdt, smp_ap_main

AP_STACK_SIZE equ 4096
MAX_APS equ 16

section .text
bits 16
; Position independent: runs at CS:0 with CS = page >> 4.
smp_tramp_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	o32 lgdt [tramp_gdtr - smp_tramp_start]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword 0x08:smp_ap_entry32
align 4
tramp_gdtr:
	dw 6 * 8 - 1
	dd rt_gdt
smp_tramp_end:

bits 32
smp_ap_entry32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, 1
	lock xadd [smp_ap_next], eax     ; eax = this AP's index
	cmp eax, MAX_APS
	jae .park
	mov esp, eax
	inc esp
	shl esp, 12
	add esp, ap_stacks
	push eax
	call smp_ap_main
.park:
	cli
	hlt
	jmp .park

section .data
smp_ap_next: dd 0

section .bss
align 16
ap_stacks: resb AP_STACK_SIZE * MAX_APS
