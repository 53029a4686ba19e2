/* Host page tables: the kernel address space with the direct map of all RAM. */
#ifndef HV_MM_PAGING_H
#define HV_MM_PAGING_H

#include "lib/types.h"
#include "asm/bootinfo.h"

/* Mapping attributes (combined with |). Present and supervisor are implied. */
#define MAP_WRITE BIT(0)
#define MAP_EXEC BIT(1)
#define MAP_UNCACHED BIT(2)  /* PCD|PWT: device memory */
#define MAP_GLOBAL BIT(3)

/*
 * Build the kernel page tables: the image window (text read-only+exec, rodata
 * read-only NX, data/bss NX), the direct map of every RAM range of the memory
 * map (1 GiB pages if the CPU has them, else 2 MiB, NX), and switch CR3 to them.
 * The low identity map of the boot code is gone afterwards. Boot CPU, after
 * frame_init(); APs load the same CR3 with paging_load_kernel().
 */
void paging_init(const struct boot_info *bi);
void paging_load_kernel(void);
paddr_t paging_kernel_cr3(void);

/*
 * Map [va, va+size) to [pa, pa+size) in the kernel address space with the
 * largest pages alignment allows (4 KiB, 2 MiB, 1 GiB). Returns 0, -EINVAL for
 * misaligned arguments, -EEXIST if something is mapped there, -ENOMEM.
 * Flushes this CPU's TLB; other CPUs need a shootdown (kernel/smp).
 */
int paging_map(vaddr_t va, paddr_t pa, u64 size, u64 flags);
int paging_unmap(vaddr_t va, u64 size);
/* Map device registers (uncached) into the direct map window; returns the VA. */
void *paging_map_mmio(paddr_t pa, u64 size);
/* Physical address behind va, or (paddr_t)-1 when unmapped. */
paddr_t paging_translate(vaddr_t va);

#endif
