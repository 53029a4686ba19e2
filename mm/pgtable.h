/* x86-64 4-level page-table editing (map, unmap, split, translate) on any root (host-testable). */
#ifndef HV_MM_PGTABLE_H
#define HV_MM_PGTABLE_H

#include "lib/types.h"

/* Page-table entry bits (Intel SDM vol. 3A 4.5, tables 4-14 to 4-20; AMD APM vol. 2 5.3). */
#define X86_PTE_P BIT(0)
#define X86_PTE_RW BIT(1)
#define X86_PTE_US BIT(2)
#define X86_PTE_PWT BIT(3)
#define X86_PTE_PCD BIT(4)
#define X86_PTE_A BIT(5)
#define X86_PTE_D BIT(6)
#define X86_PTE_PS BIT(7)        /* in PDPTEs and PDEs: maps a 1 GiB / 2 MiB page */
#define X86_PTE_PAT_4K BIT(7)    /* in PTEs */
#define X86_PTE_G BIT(8)
#define X86_PTE_PAT_LARGE BIT(12) /* in 1 GiB / 2 MiB leaves */
#define X86_PTE_NX BIT(63)
#define X86_PTE_ADDR GENMASK(51, 12)

#define PGTABLE_LEVELS 4
#define PGTABLE_ENTRIES 512

/* Bytes one entry at `level` covers: 1 = 4 KiB (PTE), 2 = 2 MiB, 3 = 1 GiB, 4 = 512 GiB. */
static inline u64 pgtable_level_size(int level) { return 1ULL << (12 + 9 * (level - 1)); }

/*
 * One address space. Tables are reached with phys_to_virt(). The caller
 * serializes all calls on one pgtable (a lock around them).
 */
struct pgtable {
	paddr_t root;       /* the PML4 */
	bool has_1g;        /* 1 GiB leaves allowed (CPUID pdpe1gb) */
	u64 table_flags;    /* bits for entries that point to tables, e.g. P|RW */
	paddr_t (*alloc_table)(void); /* a zeroed 4 KiB frame, or 0 */
	void (*flush)(vaddr_t va);    /* invalidate the TLB entry of a changed leaf; may be NULL */
};

/*
 * Map [va, va+size) to [pa, pa+size) with leaf bits `flags` (P is added),
 * using the largest pages alignment allows. All three must be 4 KiB aligned.
 * Returns 0, -EINVAL, -EEXIST when any page in the range is mapped (nothing
 * new then stays mapped), -ENOMEM.
 */
int pgtable_map(struct pgtable *pt, vaddr_t va, paddr_t pa, u64 size, u64 flags);

/*
 * Like pgtable_map, but whatever is mapped in the range is replaced, leaf by
 * leaf, with no moment where a page of the range is unmapped (large pages
 * straddling its ends are split first). For changing attributes, e.g. to
 * uncached. Returns 0, -EINVAL or -ENOMEM (the range is then partly done).
 */
int pgtable_set(struct pgtable *pt, vaddr_t va, paddr_t pa, u64 size, u64 flags);

/*
 * Unmap [va, va+size) (4 KiB aligned), splitting large pages that straddle
 * its ends. Holes are skipped. Returns 0, -EINVAL, or -ENOMEM when a split
 * fails (the range is then partly unmapped).
 */
int pgtable_unmap(struct pgtable *pt, vaddr_t va, u64 size);

/* Physical address behind va and its leaf entry in *leaf (may be NULL), or (paddr_t)-1. */
paddr_t pgtable_translate(const struct pgtable *pt, vaddr_t va, u64 *leaf);

#endif
