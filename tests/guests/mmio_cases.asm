; Test guest "mmio": the instruction forms the hypervisor must emulate on MMIO, each a small
; routine run twice by mmio.c: on ordinary RAM (the CPU is the oracle) and on the test
; device's RAM-like MMIO page. ESI/RSI points into the buffer, EDI/RDI into a scratch RAM
; buffer; routines may change any register but EBP/RBP and ESP/RSP, and must not compute
; flags from addresses (use LEA), which differ between the two runs.

global mm_run32, mm_cases32, mm_nr_cases32
global mm_run64, mm_cases64, mm_nr_cases64
global mm_moffs32_load, mm_moffs32_store, mm_moffs64

F_CF equ 0x001
F_PF equ 0x004
F_AF equ 0x010
F_ZF equ 0x040
F_SF equ 0x080
F_OF equ 0x800
M_ALL equ F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF   ; defined after the instruction
M_LOGIC equ F_CF | F_PF | F_ZF | F_SF | F_OF        ; AF undefined (AND, OR, XOR, TEST)
M_BT equ F_CF                                       ; only CF defined (BT, BTS, BTR, BTC)
M_NONE equ 0                                        ; flags not compared

WINDOW equ 0xfe000000

; struct mm_regs32 { u32 eax, ebx, ecx, edx, esi, edi, eflags; }
R32_EAX equ 0
R32_EBX equ 4
R32_ECX equ 8
R32_EDX equ 12
R32_ESI equ 16
R32_EDI equ 20
R32_EFL equ 24
; struct mm_regs64 { u64 rax, rbx, rcx, rdx, rsi, rdi, r8 .. r15, rflags; u32 index; }
R64_RAX equ 0
R64_RBX equ 8
R64_RCX equ 16
R64_RDX equ 24
R64_RSI equ 32
R64_RDI equ 40
R64_R8 equ 48
R64_RFL equ 112
R64_IDX equ 120

; A table entry per case: routine, name, flags mask (struct mm_case in mmio.c).
%assign ncase 0
%macro CASE 2           ; name, mask
	[section .rodata]
%%name: db %1, 0
	[section .data]
	dd %%code, %%name, %2
	__SECT__
%%code:
%assign ncase ncase + 1
%endmacro
%macro ENDCASE 0
	ret
%endmacro

section .text
bits 32

; void mm_run32(struct mm_regs32 *r, u32 index): run case index with r's registers.
mm_run32:
	push ebp
	push ebx
	push esi
	push edi
	mov ebp, [esp + 20]
	mov eax, [esp + 24]
	lea eax, [eax + eax * 2]
	mov eax, [mm_cases32 + eax * 4]
	push eax
	mov eax, [ebp + R32_EAX]
	mov ebx, [ebp + R32_EBX]
	mov ecx, [ebp + R32_ECX]
	mov edx, [ebp + R32_EDX]
	mov esi, [ebp + R32_ESI]
	mov edi, [ebp + R32_EDI]
	push dword [ebp + R32_EFL]
	popfd
	call [esp]
	pushfd
	pop dword [ebp + R32_EFL]
	cld
	add esp, 4
	mov [ebp + R32_EAX], eax
	mov [ebp + R32_EBX], ebx
	mov [ebp + R32_ECX], ecx
	mov [ebp + R32_EDX], edx
	mov [ebp + R32_ESI], esi
	mov [ebp + R32_EDI], edi
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; moffs forms (A0-A3) name a fixed address, so they run on the MMIO page only.
; u32 mm_moffs32_load(void): the dword at +0x20 with its low byte replaced by the byte at +0x29.
mm_moffs32_load:
	mov eax, [WINDOW + 0x20]
	mov al, [WINDOW + 0x29]
	ret
; void mm_moffs32_store(u32 v): dword at +0x30, word at +0x36, byte at +0x39.
mm_moffs32_store:
	mov eax, [esp + 4]
	mov [WINDOW + 0x30], eax
	mov [WINDOW + 0x36], ax
	mov [WINDOW + 0x39], al
	ret

section .data
align 4
mm_cases32:
section .text

; ---- MOV ----
CASE "mov al, [esi+3]", M_ALL
	mov al, [esi + 3]
ENDCASE
CASE "mov ah, [esi+9]", M_ALL
	mov ah, [esi + 9]
ENDCASE
CASE "mov ax, [esi+6]", M_ALL
	mov ax, [esi + 6]
ENDCASE
CASE "mov eax, [esi+8]", M_ALL
	mov eax, [esi + 8]
ENDCASE
CASE "mov eax, [esi+0x7f] unaligned", M_ALL
	mov eax, [esi + 0x7f]
ENDCASE
CASE "mov edx, [esi-0x20]", M_ALL
	mov edx, [esi - 0x20]
ENDCASE
CASE "mov ebx, [esi+ecx*4+0x10]", M_ALL
	mov ecx, 3
	mov ebx, [esi + ecx * 4 + 0x10]
ENDCASE
CASE "mov dl, [ecx+esi*1-1]", M_ALL
	mov ecx, 5
	mov dl, [ecx + esi - 1]
ENDCASE
CASE "mov ecx, [esi+0x12345]-0x12345 disp32", M_ALL
	lea esi, [esi - 0x12345]
	mov ecx, [esi + 0x12345 + 0x40]
	lea esi, [esi + 0x12345]
ENDCASE
CASE "mov eax, [fs:esi+4]", M_ALL
	mov eax, [fs:esi + 4]
ENDCASE
CASE "mov [esi+1], bl", M_ALL
	mov [esi + 1], bl
ENDCASE
CASE "mov [esi+10], dh", M_ALL
	mov [esi + 10], dh
ENDCASE
CASE "mov [esi+2], bx", M_ALL
	mov [esi + 2], bx
ENDCASE
CASE "mov [esi+12], ebx", M_ALL
	mov [esi + 12], ebx
ENDCASE
CASE "mov [esi+0xfe], eax unaligned", M_ALL
	mov [esi + 0xfe], eax
ENDCASE
CASE "mov byte [esi+5], imm8", M_ALL
	mov byte [esi + 5], 0x5a
ENDCASE
CASE "mov word [esi+6], imm16", M_ALL
	mov word [esi + 6], 0x1234
ENDCASE
CASE "mov dword [esi+16], imm32", M_ALL
	mov dword [esi + 16], 0xdeadbeef
ENDCASE

; ---- MOVZX / MOVSX ----
CASE "movzx eax, byte [esi+3]", M_ALL
	movzx eax, byte [esi + 3]
ENDCASE
CASE "movzx ebx, word [esi+6]", M_ALL
	movzx ebx, word [esi + 6]
ENDCASE
CASE "movzx ax, byte [esi+0x81]", M_ALL
	movzx ax, byte [esi + 0x81]
ENDCASE
CASE "movsx ecx, byte [esi+0x47]", M_ALL
	movsx ecx, byte [esi + 0x47]
ENDCASE
CASE "movsx edx, word [esi+0x4e]", M_ALL
	movsx edx, word [esi + 0x4e]
ENDCASE
CASE "movsx ax, byte [esi+0x83]", M_ALL
	movsx ax, byte [esi + 0x83]
ENDCASE

; ---- MOVS / STOS / LODS ----
CASE "movsb (one)", M_ALL
	movsb
ENDCASE
CASE "rep movsb 37 MMIO->RAM", M_ALL
	mov ecx, 37
	rep movsb
ENDCASE
CASE "rep movsw 9 MMIO->RAM", M_ALL
	mov ecx, 9
	rep movsw
ENDCASE
CASE "rep movsd 20 MMIO->RAM", M_ALL
	mov ecx, 20
	rep movsd
ENDCASE
CASE "rep movsd 200 MMIO->RAM (long)", M_ALL
	lea esi, [esi - 0x100]
	mov ecx, 200
	rep movsd
ENDCASE
CASE "rep movsb 33 RAM->MMIO", M_ALL
	xchg esi, edi
	mov ecx, 33
	rep movsb
	xchg esi, edi
ENDCASE
CASE "rep movsd 16 MMIO->MMIO", M_ALL
	lea edi, [esi + 0x100]
	mov ecx, 16
	rep movsd
ENDCASE
CASE "std rep movsd 8 backwards", M_ALL
	lea esi, [esi + 0x20]
	lea edi, [edi + 0x20]
	mov ecx, 8
	std
	rep movsd
	cld
ENDCASE
CASE "rep movsd ecx=0", M_ALL
	xor ecx, ecx
	rep movsd
ENDCASE
CASE "rep stosb 50", M_ALL
	mov edi, esi
	mov al, 0xa5
	mov ecx, 50
	rep stosb
ENDCASE
CASE "rep stosw 5", M_ALL
	lea edi, [esi + 1]
	mov ecx, 5
	rep stosw
ENDCASE
CASE "rep stosd 12", M_ALL
	mov edi, esi
	mov ecx, 12
	rep stosd
ENDCASE
CASE "std rep stosd 6", M_ALL
	lea edi, [esi + 0x40]
	mov ecx, 6
	std
	rep stosd
	cld
ENDCASE
CASE "stosd (one)", M_ALL
	mov edi, esi
	stosd
ENDCASE
CASE "lodsd; lodsb", M_ALL
	lodsd
	lodsb
ENDCASE
CASE "rep lodsw 4", M_ALL
	mov ecx, 4
	rep lodsw
ENDCASE

; ---- ALU: every form of the eight classic operations ----
%macro ALU 1
CASE %str(%1 [esi+4], ebx), M_ALL
	%1 [esi + 4], ebx
ENDCASE
CASE %str(%1 ebx, [esi+8]), M_ALL
	%1 ebx, [esi + 8]
ENDCASE
CASE %str(%1 al, [esi+1]), M_ALL
	%1 al, [esi + 1]
ENDCASE
CASE %str(%1 [esi+3], dl), M_ALL
	%1 [esi + 3], dl
ENDCASE
CASE %str(%1 byte [esi+3], imm8), M_ALL
	%1 byte [esi + 3], 0x7f
ENDCASE
CASE %str(%1 word [esi+6], bx), M_ALL
	%1 word [esi + 6], bx
ENDCASE
CASE %str(%1 word [esi+0x16], imm16), M_ALL
	%1 word [esi + 0x16], 0x8001
ENDCASE
CASE %str(%1 dword [esi+12], imm32), M_ALL
	%1 dword [esi + 12], 0x12345678
ENDCASE
CASE %str(%1 dword [esi+16], simm8), M_ALL
	%1 dword [esi + 16], byte -3
ENDCASE
%endmacro
ALU add
ALU or
ALU adc
ALU sbb
ALU and
ALU sub
ALU xor
ALU cmp

; ---- TEST, NOT, NEG, INC, DEC ----
CASE "test [esi+4], ebx", M_LOGIC
	test [esi + 4], ebx
ENDCASE
CASE "test byte [esi+3], 0x80", M_LOGIC
	test byte [esi + 3], 0x80
ENDCASE
CASE "test dword [esi+8], imm32", M_LOGIC
	test dword [esi + 8], 0xff00ff00
ENDCASE
CASE "test [esi+6], bx", M_LOGIC
	test [esi + 6], bx
ENDCASE
CASE "not dword [esi+4]", M_ALL
	not dword [esi + 4]
ENDCASE
CASE "neg byte [esi+3]", M_ALL
	neg byte [esi + 3]
ENDCASE
CASE "neg dword [esi+8]", M_ALL
	neg dword [esi + 8]
ENDCASE
CASE "inc word [esi+6]", M_ALL
	inc word [esi + 6]
ENDCASE
CASE "dec dword [esi+12]", M_ALL
	dec dword [esi + 12]
ENDCASE
CASE "inc byte [esi+0x10]", M_ALL
	inc byte [esi + 0x10]
ENDCASE

; ---- XCHG ----
CASE "xchg [esi+8], ebx", M_ALL
	xchg [esi + 8], ebx
ENDCASE
CASE "xchg [esi+3], al", M_ALL
	xchg [esi + 3], al
ENDCASE
CASE "xchg [esi+6], cx", M_ALL
	xchg [esi + 6], cx
ENDCASE
; Flags not compared: under QEMU TCG an unaligned XCHG (implicitly locked) that exits on
; a nested page fault comes back with CF cleared, although the emulator leaves RFLAGS
; alone (aligned XCHG and unaligned LOCK BTS on the same page keep their flags).
CASE "xchg ebx, [esi+0x21] unaligned", M_NONE
	xchg ebx, [esi + 0x21]
ENDCASE

; ---- BT, BTS, BTR, BTC ----
CASE "bt dword [esi+4], 5", M_BT
	bt dword [esi + 4], 5
ENDCASE
CASE "bts dword [esi+8], 31", M_BT
	bts dword [esi + 8], 31
ENDCASE
CASE "btr dword [esi+12], 0", M_BT
	btr dword [esi + 12], 0
ENDCASE
CASE "btc word [esi+6], 3", M_BT
	btc word [esi + 6], 3
ENDCASE
CASE "bt [esi], ecx=37", M_BT
	mov ecx, 37
	bt [esi], ecx
ENDCASE
CASE "bts [esi], ecx=-9", M_BT
	mov ecx, -9
	bts [esi], ecx
ENDCASE
CASE "btr [esi+4], ecx=100", M_BT
	mov ecx, 100
	btr [esi + 4], ecx
ENDCASE
CASE "btc [esi], cx=20", M_BT
	mov ecx, 20
	btc [esi], cx
ENDCASE
CASE "lock bts dword [esi+0x18], 7", M_BT
	lock bts dword [esi + 0x18], 7
ENDCASE

; ---- CMPXCHG, XADD, CMPXCHG8B, LOCK ----
CASE "cmpxchg [esi+4], ebx equal", M_ALL
	mov eax, [esi + 4]
	cmpxchg [esi + 4], ebx
ENDCASE
CASE "cmpxchg [esi+8], ebx differ", M_ALL
	cmpxchg [esi + 8], ebx
ENDCASE
CASE "cmpxchg byte [esi+3], bl", M_ALL
	mov al, [esi + 3]
	cmpxchg [esi + 3], bl
ENDCASE
CASE "lock xadd [esi+12], ebx", M_ALL
	lock xadd [esi + 12], ebx
ENDCASE
CASE "xadd [esi+3], bl", M_ALL
	xadd [esi + 3], bl
ENDCASE
CASE "cmpxchg8b [esi+16] equal", M_ALL
	mov eax, [esi + 16]
	mov edx, [esi + 20]
	cmpxchg8b [esi + 16]
ENDCASE
CASE "cmpxchg8b [esi+24] differ", M_ALL
	cmpxchg8b [esi + 24]
ENDCASE
CASE "lock add [esi+4], ebx", M_ALL
	lock add [esi + 4], ebx
ENDCASE
CASE "lock dec dword [esi+8]", M_ALL
	lock dec dword [esi + 8]
ENDCASE

section .data
align 4
mm_nr_cases32: dd ncase

; ---------------------------------------------------------------- 64-bit ----
section .data
align 4
mm_cases64:
%assign ncase 0
section .text
bits 64

; u32 mm_run64(struct mm_regs64 *r) through rt_call64: run case r->index.
mm_run64:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov rbp, rdi
	mov eax, [rbp + R64_IDX]
	lea eax, [eax + eax * 2]
	mov eax, [mm_cases64 + eax * 4]
	push rax
	mov rax, [rbp + R64_RAX]
	mov rbx, [rbp + R64_RBX]
	mov rcx, [rbp + R64_RCX]
	mov rdx, [rbp + R64_RDX]
	mov rsi, [rbp + R64_RSI]
	mov rdi, [rbp + R64_RDI]
	mov r8, [rbp + R64_R8]
	mov r9, [rbp + R64_R8 + 8]
	mov r10, [rbp + R64_R8 + 16]
	mov r11, [rbp + R64_R8 + 24]
	mov r12, [rbp + R64_R8 + 32]
	mov r13, [rbp + R64_R8 + 40]
	mov r14, [rbp + R64_R8 + 48]
	mov r15, [rbp + R64_R8 + 56]
	push qword [rbp + R64_RFL]
	popfq
	call [rsp]
	pushfq
	pop qword [rbp + R64_RFL]
	cld
	add rsp, 8
	mov [rbp + R64_RAX], rax
	mov [rbp + R64_RBX], rbx
	mov [rbp + R64_RCX], rcx
	mov [rbp + R64_RDX], rdx
	mov [rbp + R64_RSI], rsi
	mov [rbp + R64_RDI], rdi
	mov [rbp + R64_R8], r8
	mov [rbp + R64_R8 + 8], r9
	mov [rbp + R64_R8 + 16], r10
	mov [rbp + R64_R8 + 24], r11
	mov [rbp + R64_R8 + 32], r12
	mov [rbp + R64_R8 + 40], r13
	mov [rbp + R64_R8 + 48], r14
	mov [rbp + R64_R8 + 56], r15
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

; u32 mm_moffs64(u32 *out): 64-bit moffs forms (A1/A3 with a 64-bit address) on the
; MMIO page: out[0..1] = qword at +0x40, out[2] = byte at +0x41; stores eax at +0x48.
mm_moffs64:
	mov rax, [qword WINDOW + 0x40]
	mov [rdi], rax
	mov al, [qword WINDOW + 0x41]
	movzx eax, al
	mov [rdi + 8], eax
	mov eax, 0xc0ffee11
	mov [qword WINDOW + 0x48], eax
	xor eax, eax
	ret

CASE "mov rax, [rsi+8]", M_ALL
	mov rax, [rsi + 8]
ENDCASE
CASE "mov [rsi+16], rbx", M_ALL
	mov [rsi + 16], rbx
ENDCASE
CASE "mov r9, [rsi+r8*8-0x10]", M_ALL
	mov r8, 3
	mov r9, [rsi + r8 * 8 - 0x10]
ENDCASE
CASE "mov [rsi+0x21], r10d", M_ALL
	mov [rsi + 0x21], r10d
ENDCASE
CASE "mov r11w, [rsi+6]", M_ALL
	mov r11w, [rsi + 6]
ENDCASE
CASE "mov r12b, [rsi+3]", M_ALL
	mov r12b, [rsi + 3]
ENDCASE
CASE "mov [rsi+5], r13b", M_ALL
	mov [rsi + 5], r13b
ENDCASE
CASE "mov qword [rsi+24], simm32", M_ALL
	mov qword [rsi + 24], -2
ENDCASE
CASE "mov eax, [rsi+8] zero-extends", M_ALL
	mov eax, [rsi + 8]
ENDCASE
CASE "mov rax, [gs:rsi+8]", M_ALL
	mov rax, [gs:rsi + 8]
ENDCASE
CASE "mov r15, [r14+rsi]", M_ALL
	mov r14, 0x30
	mov r15, [r14 + rsi]
ENDCASE
CASE "movzx r13, byte [rsi+3]", M_ALL
	movzx r13, byte [rsi + 3]
ENDCASE
CASE "movzx r14d, word [rsi+0x22]", M_ALL
	movzx r14d, word [rsi + 0x22]
ENDCASE
CASE "movsx rax, word [rsi+6]", M_ALL
	movsx rax, word [rsi + 6]
ENDCASE
CASE "movsx r8, byte [rsi+0x47]", M_ALL
	movsx r8, byte [rsi + 0x47]
ENDCASE
CASE "movsxd rbx, dword [rsi+0x4c]", M_ALL
	movsxd rbx, dword [rsi + 0x4c]
ENDCASE
CASE "rep movsq 10 MMIO->RAM", M_ALL
	mov ecx, 10
	rep movsq
ENDCASE
CASE "rep movsq 9 RAM->MMIO", M_ALL
	xchg rsi, rdi
	mov ecx, 9
	rep movsq
	xchg rsi, rdi
ENDCASE
CASE "rep movsb 100 MMIO->MMIO", M_ALL
	lea rdi, [rsi + 0x100]
	mov ecx, 100
	rep movsb
ENDCASE
CASE "std rep movsq 4", M_ALL
	lea rsi, [rsi + 0x20]
	lea rdi, [rdi + 0x20]
	mov ecx, 4
	std
	rep movsq
	cld
ENDCASE
CASE "rep stosq 7", M_ALL
	mov rdi, rsi
	mov rax, 0x1122334455667788
	mov ecx, 7
	rep stosq
ENDCASE
CASE "rep lodsq 3", M_ALL
	mov ecx, 3
	rep lodsq
ENDCASE
CASE "add [rsi+8], rbx", M_ALL
	add [rsi + 8], rbx
ENDCASE
CASE "sub r15, [rsi+16]", M_ALL
	sub r15, [rsi + 16]
ENDCASE
CASE "and qword [rsi+24], imm32", M_ALL
	and qword [rsi + 24], 0x7fffffff
ENDCASE
CASE "or [rsi+32], r8", M_ALL
	or [rsi + 32], r8
ENDCASE
CASE "xor byte [rsi+3], imm8", M_ALL
	xor byte [rsi + 3], 0x11
ENDCASE
CASE "cmp qword [rsi+8], simm8", M_ALL
	cmp qword [rsi + 8], byte -1
ENDCASE
CASE "adc [rsi+40], r9", M_ALL
	adc [rsi + 40], r9
ENDCASE
CASE "sbb r10, [rsi+48]", M_ALL
	sbb r10, [rsi + 48]
ENDCASE
CASE "add r11d, [rsi+4]", M_ALL
	add r11d, [rsi + 4]
ENDCASE
CASE "test [rsi+8], rbx", M_LOGIC
	test [rsi + 8], rbx
ENDCASE
CASE "not qword [rsi+16]", M_ALL
	not qword [rsi + 16]
ENDCASE
CASE "neg qword [rsi+24]", M_ALL
	neg qword [rsi + 24]
ENDCASE
CASE "inc qword [rsi+32]", M_ALL
	inc qword [rsi + 32]
ENDCASE
CASE "dec word [rsi+6]", M_ALL
	dec word [rsi + 6]
ENDCASE
CASE "xchg [rsi+8], rbx", M_ALL
	xchg [rsi + 8], rbx
ENDCASE
CASE "xchg [rsi+4], r9d", M_ALL
	xchg [rsi + 4], r9d
ENDCASE
CASE "bt qword [rsi+8], 63", M_BT
	bt qword [rsi + 8], 63
ENDCASE
CASE "bts [rsi], rcx=200", M_BT
	mov ecx, 200
	bts [rsi], rcx
ENDCASE
CASE "btr qword [rsi+16], 33", M_BT
	btr qword [rsi + 16], 33
ENDCASE
CASE "btc [rsi+0x40], rcx=-70", M_BT
	mov rcx, -70
	btc [rsi + 0x40], rcx
ENDCASE
CASE "cmpxchg [rsi+8], rbx equal", M_ALL
	mov rax, [rsi + 8]
	cmpxchg [rsi + 8], rbx
ENDCASE
CASE "lock xadd [rsi+16], r8", M_ALL
	lock xadd [rsi + 16], r8
ENDCASE

section .data
align 4
mm_nr_cases64: dd ncase
