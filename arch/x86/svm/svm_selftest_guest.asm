; Tiny guests for the SVM self-test (svm_selftest.c): each is copied to guest-physical 0x1000.
; Lengths of the exiting instructions are written next to them: the self-test checks the
; backend's insn_len against them and uses them to step over CPUID/HLT/VMMCALL/MMIO.
section .rodata

%macro BLOB 1
global svm_st_%1_start, svm_st_%1_end
%endmacro

; Real mode, CS:IP = 0000:1000.
BLOB real
bits 16
svm_st_real_start:
	mov ax, 0x1234
	cpuid                           ; 2 bytes: EXIT_CPUID
	mov al, 0x5a
	out 0x80, al                    ; 2 bytes: out, port 0x80, size 1
	mov dx, 0x3f8
	out dx, al                      ; 1 byte: out, port 0x3f8, size 1
	in ax, dx                       ; 1 byte: in, size 2
	o32 out dx, eax                 ; 2 bytes: out, size 4
	mov si, 0xbeef
	hlt                             ; 1 byte: EXIT_HLT
svm_st_real_end:

; Real mode: an interrupt window and an injected interrupt (vector 0x20, handler at 0x1100).
BLOB irq
svm_st_irq_start:
	cli
	vmmcall                         ; 3 bytes: the host asks for a window now (IF=0)
	sti
	nop
	vmmcall                         ; reached after the injected interrupt's handler returns
	hlt
	times 0x100 - ($ - svm_st_irq_start) db 0x90
	out 0x81, al                    ; 0x1100: the handler of vector 0x20
	iret
svm_st_irq_end:

; Real mode with an empty IDT: int3 -> #GP -> #DF -> shutdown (triple fault).
BLOB tf
svm_st_tf_start:
	lidt [cs:0x1000 + (.idt - svm_st_tf_start)]
	int3
.idt:	dw 0
	dd 0
svm_st_tf_end:

; Real mode: count in EAX and report every step on port 0x80, forever.
BLOB loop
svm_st_loop_start:
	xor eax, eax
.next:	inc eax
	out 0x80, al                    ; 2 bytes
	jmp .next
svm_st_loop_end:

; Real mode: spin with interrupts off; only host interrupts (EXIT_EXTINT) get the CPU back.
BLOB spin
svm_st_spin_start:
	cli
	jmp $
svm_st_spin_end:

; 32-bit protected mode, paging off, flat segments.
BLOB pm
bits 32
svm_st_pm_start:
	mov dword [0x3000], 0xcafebabe  ; plain RAM
	mov eax, [0xfee00030]           ; 5 bytes: NPF read at an unmapped GPA
	mov [0xfec00000], eax           ; 5 bytes: NPF write
	vmload                          ; 3 bytes: #UD for the guest
	hlt
svm_st_pm_end:

; 64-bit mode (page tables set up by the host): every general register is incremented.
BLOB lm
bits 64
svm_st_lm_start:
	add rax, 1
	add rbx, 1
	add rcx, 1
	add rdx, 1
	add rsi, 1
	add rdi, 1
	add rbp, 1
	add r8, 1
	add r9, 1
	add r10, 1
	add r11, 1
	add r12, 1
	add r13, 1
	add r14, 1
	add r15, 1
	vmmcall                         ; 3 bytes
	mov rax, [abs 0x3000]
	mov rbx, 0x100000000            ; 4 GiB: beyond guest RAM
	mov qword [rbx], rax            ; NPF write
	hlt
svm_st_lm_end:
