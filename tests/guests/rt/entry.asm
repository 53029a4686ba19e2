; Test-guest runtime: Multiboot v1 header, 32-bit entry, GDT; calls rt_main(magic, info).
; Multiboot Specification 0.6.96, 3.1.1 (header) and 3.2 (machine state at entry).

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x3                ; page-aligned modules, memory information
STACK_SIZE equ 16384

global _start, rt_gdt, rt_gdt_desc, rt_entry_magic, rt_entry_info
extern rt_main, __bss_start, __bss_end

section .multiboot
align 4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

section .text
bits 32
_start:
	cli
	cld
	mov [rt_entry_magic], eax
	mov [rt_entry_info], ebx
	; The loader zeroes .bss already; do it again, the stack lives there.
	mov edi, __bss_start
	mov ecx, __bss_end
	sub ecx, edi
	xor eax, eax
	rep stosb
	lgdt [rt_gdt_desc]
	jmp 0x08:.flat
.flat:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, boot_stack + STACK_SIZE
	push dword [rt_entry_info]
	push dword [rt_entry_magic]
	call rt_main
.hang:
	cli
	hlt
	jmp .hang

section .data
align 16
; 0x08 32-bit code, 0x10 data, 0x18 64-bit code, 0x20 16-bit code, 0x28 16-bit data
rt_gdt:
	dq 0
	dq 0x00cf9a000000ffff
	dq 0x00cf92000000ffff
	dq 0x00af9a000000ffff
	dq 0x00009a000000ffff
	dq 0x000092000000ffff
rt_gdt_end:
align 4
	dw 0
rt_gdt_desc:
	dw rt_gdt_end - rt_gdt - 1
	dd rt_gdt
rt_entry_magic: dd 0
rt_entry_info: dd 0

section .bss
align 16
boot_stack: resb STACK_SIZE
