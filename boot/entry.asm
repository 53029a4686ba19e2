; 32-bit entry from a Multiboot loader: check for long mode, build early page tables,
; enter 64-bit mode and jump to the higher half (Intel SDM vol. 3A 10.8.5).
;
; Early map (2 MiB pages): identity and direct map (0xffff800000000000) of the first
; 4 GiB, and the kernel image window 0xffffffff80000000 -> physical 0. mm/ replaces it.
%include "boot/layout.inc"

%define PHYS(x) ((x) - KERNEL_VMA)
%define PTE_P  1
%define PTE_W  2
%define PTE_PS 0x80

bits 32
section .boot.text
global _start32
_start32:
	cli
	cld
	mov edi, eax                    ; loader magic
	mov esi, ebx                    ; loader information (physical)
	mov esp, PHYS(boot_stack_top)

	; Long mode available?
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode
	mov ebp, edx                    ; keep NX support (bit 20)

	; Zero the early tables (GRUB clears .bss, but do not rely on it).
	push edi
	mov edi, PHYS(early_pml4)
	mov ecx, (early_tables_end - early_pml4) / 4
	xor eax, eax
	rep stosd
	pop edi

	mov eax, PHYS(early_pdpt_low) + PTE_P + PTE_W
	mov [PHYS(early_pml4)], eax              ; identity
	mov [PHYS(early_pml4) + 256 * 8], eax    ; direct map
	mov eax, PHYS(early_pdpt_high) + PTE_P + PTE_W
	mov [PHYS(early_pml4) + 511 * 8], eax    ; kernel image window

	; pdpt_low[0..3] -> pd[0..3]; pdpt_high[510] -> pd[0]
	mov eax, PHYS(early_pd) + PTE_P + PTE_W
	mov ebx, PHYS(early_pdpt_low)
	mov ecx, 4
.fill_pdpt:
	mov [ebx], eax
	add eax, 4096
	add ebx, 8
	loop .fill_pdpt
	mov dword [PHYS(early_pdpt_high) + 510 * 8], PHYS(early_pd) + PTE_P + PTE_W

	; 2048 PDEs of 2 MiB cover 4 GiB
	mov ebx, PHYS(early_pd)
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P + PTE_W + PTE_PS
	mov [ebx + ecx * 8], eax
	mov eax, ecx
	shr eax, 11
	mov [ebx + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 2048
	jb .fill_pd

	mov eax, cr4
	or eax, 1 << 5                  ; PAE
	mov cr4, eax
	mov eax, PHYS(early_pml4)
	mov cr3, eax
	mov ecx, 0xc0000080             ; EFER
	rdmsr
	or eax, 1 << 8                  ; LME
	test ebp, 1 << 20
	jz .no_nx
	or eax, 1 << 11                 ; NXE
.no_nx:
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | 1   ; PG, WP, PE
	mov cr0, eax

	lgdt [boot_gdt_ptr]
	jmp 0x08:long_mode_low

.no_long_mode:
	mov esi, no_lm_msg
.print:
	lodsb
	test al, al
	jz .halt
	mov dx, 0x3f8
	out dx, al
	jmp .print
.halt:
	hlt
	jmp .halt

bits 64
long_mode_low:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rax, long_mode_high
	jmp rax

section .boot.data
no_lm_msg: db "hv: this CPU has no 64-bit long mode; cannot boot", 13, 10, 0
align 16
boot_gdt:
	dq 0
	dq 0x00af9a000000ffff           ; 0x08: 64-bit code
	dq 0x00cf92000000ffff           ; 0x10: data
boot_gdt_end:
boot_gdt_ptr:
	dw boot_gdt_end - boot_gdt - 1
	dd boot_gdt

section .text
extern kmain
long_mode_high:
	mov rsp, boot_stack_top
	xor ebp, ebp
	; rdi = loader magic, rsi = loader information (physical): kmain(magic, info)
	mov edi, edi
	mov esi, esi
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .bss
align 4096
global early_pml4
early_pml4:      resb 4096
early_pdpt_low:  resb 4096
early_pdpt_high: resb 4096
early_pd:        resb 4 * 4096
early_tables_end:
align 16
global boot_stack_bottom, boot_stack_top
boot_stack_bottom: resb BOOT_STACK_SIZE
boot_stack_top:
