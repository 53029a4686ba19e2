; Multiboot2 and Multiboot1 headers, so GRUB's `multiboot2` and `multiboot` both load us.
; Multiboot2 spec section 3.1; Multiboot 0.6.96 section 3.1.
bits 32
section .multiboot

MB2_MAGIC    equ 0xe85250d6
MB2_ARCH_I386 equ 0

align 8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; information request: memory map, cmdline, modules, ACPI (optional, flag 1)
	align 8
	dw 1, 1
	dd 8 + 4 * 6
	dd 1, 3, 6, 14, 15, 4
	align 8
	; module alignment: page-aligned modules
	dw 6, 0
	dd 8
	align 8
	; end tag
	dw 0, 0
	dd 8
mb2_header_end:

MB1_MAGIC equ 0x1badb002
MB1_FLAGS equ (1 << 0) | (1 << 1)   ; page-align modules, want memory info
align 4
mb1_header:
	dd MB1_MAGIC
	dd MB1_FLAGS
	dd -(MB1_MAGIC + MB1_FLAGS)
