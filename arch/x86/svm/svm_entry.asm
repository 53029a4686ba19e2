; SVM world switch: VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host (AMD APM vol. 2 15.5, 15.5.2).
bits 64
section .text

; Offsets into the general-register array: u64 gpr[16] indexed by hardware
; encoding (enum vcpu_reg; svm_run.c asserts the layout). RAX and RSP live in
; the VMCB, so they are not touched here.
%define GPR(n) ((n) * 8)
%define R_RCX 1
%define R_RDX 2
%define R_RBX 3
%define R_RBP 5
%define R_RSI 6
%define R_RDI 7

; void svm_vmrun(u64 *gprs, u64 guest_vmcb_pa, u64 host_vmcb_pa)
; Called with GIF clear (CLGI) so no interrupt or NMI can arrive while the GS
; base and TR hold guest values. Returns after the #VMEXIT with the guest's
; general registers stored back, the guest's FS/GS/TR/LDTR/syscall MSRs saved in
; its VMCB and the host's reloaded (VMRUN itself does not save or restore them).
global svm_vmrun
svm_vmrun:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdx                        ; host VMCB, for after the exit
	push rdi                        ; register array, for after the exit

	mov rax, rdx
	vmsave                      ; host FS/GS bases, TR, LDTR, KernelGSBase, STAR...

	mov rax, rsi                    ; guest VMCB: VMLOAD/VMRUN/VMSAVE operand
	mov rcx, [rdi + GPR(R_RCX)]
	mov rdx, [rdi + GPR(R_RDX)]
	mov rbx, [rdi + GPR(R_RBX)]
	mov rbp, [rdi + GPR(R_RBP)]
	mov rsi, [rdi + GPR(R_RSI)]
	mov r8, [rdi + GPR(8)]
	mov r9, [rdi + GPR(9)]
	mov r10, [rdi + GPR(10)]
	mov r11, [rdi + GPR(11)]
	mov r12, [rdi + GPR(12)]
	mov r13, [rdi + GPR(13)]
	mov r14, [rdi + GPR(14)]
	mov r15, [rdi + GPR(15)]
	mov rdi, [rdi + GPR(R_RDI)]

	vmload
	vmrun                       ; #VMEXIT restores host RSP, RAX (= guest VMCB), RIP
	vmsave

	mov rax, [rsp]                  ; register array
	mov [rax + GPR(R_RCX)], rcx
	mov [rax + GPR(R_RDX)], rdx
	mov [rax + GPR(R_RBX)], rbx
	mov [rax + GPR(R_RBP)], rbp
	mov [rax + GPR(R_RSI)], rsi
	mov [rax + GPR(R_RDI)], rdi
	mov [rax + GPR(8)], r8
	mov [rax + GPR(9)], r9
	mov [rax + GPR(10)], r10
	mov [rax + GPR(11)], r11
	mov [rax + GPR(12)], r12
	mov [rax + GPR(13)], r13
	mov [rax + GPR(14)], r14
	mov [rax + GPR(15)], r15

	add rsp, 8
	pop rax                         ; host VMCB
	vmload                      ; host GS base (per-CPU data), TR, ... are back

	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
