; Test guest "realmode": 16-bit real-mode code entered from protected mode and back
; (Intel SDM vol. 3A 10.9.2 "Switching Back to Real-Address Mode", 10.9.1 "Switching to
; Protected Mode"), with interrupts, an exception and INT n through its own IVT (20.1.4).
; The blob between rm_blob_start and rm_blob_end is copied to RM_BASE and runs there.

global rm_blob_start, rm_blob_end, rm_enter, rm_isr_start, rm_isr_end, rm_results_start
extern rt_gdt

RM_BASE equ 0x4000                  ; must match realmode.c
RM_SEG equ RM_BASE >> 4
RM_STACK equ 0x7ff0                 ; SS = 0
CODE16_SEL equ 0x20                 ; rt_gdt: 16-bit code, base 0, limit 0xffff
DATA16_SEL equ 0x28
CODE32_SEL equ 0x08
DATA32_SEL equ 0x10
TIMER_VECTOR equ 0x40
SOFT_VECTOR equ 0x80
MAX_HLTS equ 1000

; mode bits passed to rm_enter (realmode.c)
MODE_TIMER equ 1                    ; a LAPIC timer interrupt is due: wait for it with STI; HLT
MODE_SET_NE equ 2                   ; go back to protected mode with CR0.NE set as well

%define RM(x) (RM_BASE + (x) - rm_blob_start)   ; linear address (= offset with segment 0)
%define RO(x) ((x) - rm_blob_start)             ; offset with segment RM_SEG

section .text
bits 32
; u32 rm_enter(u32 mode): run the real-mode part once; returns CR0 as real mode saw it.
rm_enter:
	push ebp
	push ebx
	push esi
	push edi
	mov eax, [esp + 20]
	mov [RM(rm_mode)], eax
	mov [RM(rm_saved_esp)], esp
	sidt [RM(rm_saved_idtr)]
	jmp CODE16_SEL:RM(rm_pm16)

; Back from real mode, in 32-bit protected mode again.
rm_pm32:
	mov ax, DATA32_SEL
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, [RM(rm_saved_esp)]
	lidt [RM(rm_saved_idtr)]
	mov eax, [RM(rm_result_cr0)]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

bits 16
align 16
rm_blob_start:
; 16-bit protected mode: data segments with 64 KiB limits, then PE off.
rm_pm16:
	mov ax, DATA16_SEL
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	lidt [RM(rm_ivt_desc)]
	mov eax, cr0
	and eax, ~1
	mov cr0, eax
	jmp word 0:RM(rm_real)

rm_real:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, RM_STACK
	mov eax, cr0
	mov [RM(rm_result_cr0)], eax
	call set_vectors
	call test_int_n
	call test_exceptions
	call test_string_out
	call test_segments
	call test_cpuid
	call checksum
	test byte [RM(rm_mode)], MODE_TIMER
	jz .no_timer
	call wait_timer
.no_timer:
	; To protected mode (SDM 10.9.1): GDT (as loaded before), PE, a far jump, segments.
	cli
	o32 lgdt [RM(rm_gdtr)]
	mov eax, cr0
	or eax, 1
	test byte [RM(rm_mode)], MODE_SET_NE
	jz .pe
	or eax, 0x20
.pe:
	mov cr0, eax
	jmp dword CODE32_SEL:rm_pm32

; IVT entries (offset, segment) for the vectors this code handles.
set_vectors:
	mov word [0 * 4], RO(isr_de)
	mov word [0 * 4 + 2], RM_SEG
	mov word [3 * 4], RM(isr_bp)
	mov word [3 * 4 + 2], 0
	mov word [TIMER_VECTOR * 4], RM(isr_timer)
	mov word [TIMER_VECTOR * 4 + 2], 0
	mov word [SOFT_VECTOR * 4], RO(isr_soft)
	mov word [SOFT_VECTOR * 4 + 2], RM_SEG
	ret

; INT 0x80 with AX = 0x1234: the handler adds 0x1111, counts, and sees CS = RM_SEG.
test_int_n:
	mov ax, 0x1234
	int SOFT_VECTOR
	mov [RM(res_int_ax)], ax
	mov ax, 0x0100
	int SOFT_VECTOR
	mov [RM(res_int_ax2)], ax
	pushf
	pop word [RM(res_flags)]
	ret

; #DE from DIV by zero and #BP from INT3, both through the IVT.
test_exceptions:
	xor cx, cx
	mov ax, 7
	xor dx, dx
	div cx                          ; 2 bytes: the handler skips it
	int3
	int3
	ret

; REP OUTSB from DS:SI with DS = RM_SEG: the hypervisor does string I/O in real mode.
test_string_out:
	push ds
	mov ax, RM_SEG
	mov ds, ax
	mov si, RO(msg)
	mov cx, msg_len
	mov dx, 0x3f8
	cld
	rep outsb
	pop ds
	mov [RM(res_outs_si)], si
	mov [RM(res_outs_cx)], cx
	ret

; One linear address through two segment:offset pairs.
test_segments:
	push es
	push ds
	mov ax, (RM_BASE + 0x0f00) >> 4
	mov es, ax
	mov word [es:0x20], 0xbeef
	mov ax, ((RM_BASE + 0x0f00) >> 4) + 1
	mov ds, ax
	mov ax, [ds:0x10]
	pop ds
	pop es
	mov [RM(res_alias)], ax
	ret

test_cpuid:
	xor eax, eax
	cpuid
	mov [RM(res_cpuid_b)], ebx
	mov [RM(res_cpuid_c)], ecx
	mov [RM(res_cpuid_d)], edx
	ret

; 16-bit sum of the words of the handler code (the C side sums the same bytes).
checksum:
	mov si, RM(isr_de)
	xor ax, ax
.next:
	add ax, [si]
	add si, 2
	cmp si, RM(isr_end)
	jb .next
	mov [RM(res_sum)], ax
	ret

; The LAPIC timer, armed by the C side, arrives through the IVT while halted.
wait_timer:
	xor cx, cx
.again:
	cmp word [RM(res_ticks)], 0
	jne .done
	inc cx
	cmp cx, MAX_HLTS
	ja .done
	sti
	hlt
	cli
	jmp .again
.done:
	mov [RM(res_hlts)], cx
	ret

rm_isr_start:
isr_de:
	push bp
	mov bp, sp
	add word [bp + 2], 2            ; past DIV CX
	mov bp, cs
	mov [cs:RO(res_de_cs)], bp
	inc word [cs:RO(res_de)]
	pop bp
	iret

isr_bp:
	inc word [RM(res_bp)]           ; CS = 0 here, DS = 0 in the caller
	iret

isr_timer:
	inc word [RM(res_ticks)]        ; no EOI here: the C side sends it
	iret

isr_soft:
	add ax, 0x1111
	push bp
	mov bp, cs
	mov [cs:RO(res_soft_cs)], bp
	pop bp
	inc word [cs:RO(res_soft)]
	iret
align 2, db 0
isr_end:
rm_isr_end:

align 4
msg: db "realmode: hi", 13, 10
msg_len equ $ - msg
align 4
rm_ivt_desc:
	dw 0x3ff
	dd 0
align 4
rm_gdtr:
	dw 6 * 8 - 1
	dd rt_gdt
align 4
rm_saved_idtr: dw 0
	dd 0
rm_saved_esp: dd 0
rm_mode: dd 0
rm_result_cr0: dd 0
; Results, read by realmode.c (struct rm_results, same order).
rm_results_start:
res_int_ax: dw 0
res_int_ax2: dw 0
res_soft: dw 0
res_soft_cs: dw 0
res_flags: dw 0
res_de: dw 0
res_de_cs: dw 0
res_bp: dw 0
res_outs_si: dw 0
res_outs_cx: dw 0
res_alias: dw 0
res_sum: dw 0
res_ticks: dw 0
res_hlts: dw 0
res_cpuid_b: dd 0
res_cpuid_c: dd 0
res_cpuid_d: dd 0
rm_blob_end:
