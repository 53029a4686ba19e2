; VMX world switch: VMLAUNCH/VMRESUME and the host re-entry point (Intel SDM vol. 3C 27, 28.5).
bits 64
section .text

; Offsets into the general-register array: u64 gpr[16] indexed by hardware
; encoding (enum vcpu_reg; vmx_run.c asserts the layout). RSP lives in the VMCS.
%define GPR(n) ((n) * 8)
%define R_RAX 0
%define R_RCX 1
%define R_RDX 2
%define R_RBX 3
%define R_RBP 5
%define R_RSI 6
%define R_RDI 7
%define VMCS_HOST_RSP 0x6c14

; int vmx_enter(u64 *gprs, u32 launched)
; Interrupts off, the vCPU's VMCS current, HOST_RIP = vmx_exit_point. Sets
; HOST_RSP to this frame, loads the guest's registers and enters with
; VMRESUME (launched) or VMLAUNCH. Returns 0 after a VM exit with the guest's
; registers stored back, 1 on VMfailInvalid, 2 on VMfailValid (the reason is
; then in the VM-instruction error field).
global vmx_enter
global vmx_exit_point
vmx_enter:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi                        ; register array: [rsp] after the exit

	mov eax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jbe .failed

	test esi, esi                   ; flags survive the MOVs below
	mov rax, [rdi + GPR(R_RAX)]
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
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	mov eax, 2                      ; VMfailValid (ZF), unless CF says VMfailInvalid
	mov ecx, 1
	cmovc eax, ecx
	add rsp, 8                      ; drop the register array pointer
	jmp vmx_pop_host_regs

; The VM exit lands here (HOST_RIP) with RSP = HOST_RSP and RFLAGS = 2.
vmx_exit_point:
	push rax                        ; guest RAX
	mov rax, [rsp + 8]              ; register array
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
	pop qword [rax + GPR(R_RAX)]
	add rsp, 8
	xor eax, eax
vmx_pop_host_regs:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
