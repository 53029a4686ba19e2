/* Interrupt vector assignment of the host IDT. */
#ifndef HV_ASM_IRQ_VECTORS_H
#define HV_ASM_IRQ_VECTORS_H

/* 0x00-0x1f: exceptions (Intel SDM vol. 3A table 6-1). */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19
#define VEC_VE 20
#define VEC_CP 21

/* 0x20-0x2f: where the legacy PIC is remapped before it is masked (spurious only). */
#define VEC_PIC_BASE 0x20
/* 0x30-0x4f: IOAPIC inputs, GSI n -> 0x30 + n. */
#define VEC_GSI_BASE 0x30
#define VEC_GSI_COUNT 32
/* 0x50-0xdf: free for MSI and later use. */
#define VEC_DYNAMIC_BASE 0x50
#define VEC_DYNAMIC_END 0xdf

#define VEC_LAPIC_TIMER 0xf0
#define VEC_IPI_CALL 0xf1     /* run a function on this CPU (kernel/smp) */
#define VEC_IPI_RESCHED 0xf2  /* re-run the scheduler / kick a vCPU */
#define VEC_LAPIC_ERROR 0xfe
#define VEC_SPURIOUS 0xff

#endif
