/* Test-guest runtime: page tables for 32-bit, PAE and 4-level paging; long mode entry. */
#ifndef GUEST_RT_PAGING_H
#define GUEST_RT_PAGING_H

#include "lib/types.h"

/* Page-table entry bits (Intel SDM vol. 3A 4.3-4.5). */
#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PF_ERR_P BIT(0)
#define PF_ERR_W BIT(1)
#define PF_ERR_ID BIT(4)

/* A zeroed 4 KiB page for tables (a fixed pool: running out ends the test with FAIL). */
void *rt_pt_page(void);

/* 32-bit paging: all 4 GiB identity-mapped with 4 MiB pages (CR4.PSE). Returns CR3. */
u32 pg32_identity(void);
/* Map one 4 KiB page (splitting its 4 MiB page first). No TLB flush. */
void pg32_map4k(u32 cr3, u32 va, u32 pa, u32 flags);
void pg32_enable(u32 cr3);

/* PAE: 4 GiB identity-mapped with 2 MiB pages. Returns CR3 (the PDPT). */
u32 pae_identity(void);
void pae_map4k(u32 cr3, u32 va, u64 pa, u64 flags);
/* The entry mapping va (PDE for a 2 MiB page, else PTE), for tests that edit it. */
u64 *pae_entry(u32 cr3, u32 va);
void pae_enable(u32 cr3);

/* 4-level: 4 GiB identity-mapped with 2 MiB pages. Returns CR3 (the PML4). */
u32 lm_identity(void);
/* Map one 4 KiB page at any canonical address, creating tables as needed. */
void lm_map4k(u32 cr3, u64 va, u64 pa, u64 flags);
/*
 * Enter IA-32e mode with the given PML4 (paging is turned off first if it is
 * on): loads the 64-bit IDT, sets CR4.PAE, EFER.LME and CR0.PG. The caller
 * keeps running in compatibility mode; rt_call64 runs 64-bit code.
 * Interrupts must be off; exceptions are still recorded and recoverable.
 */
void lm_enter(u32 cr3);
bool rt_in_long_mode(void);
/* Far-call a 64-bit function fn(arg) (System V: arg in RDI, result in EAX). */
u32 rt_call64(u32 fn, u32 arg);

#endif
