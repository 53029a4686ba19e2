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
 * Build the kernel page tables and switch CR3 to them:
 *  - image window at KERNEL_VMA: text read-only+exec, rodata read-only NX,
 *    data/ksyms/bss read-write NX (4 KiB pages);
 *  - direct map at DIRECT_MAP_BASE: the whole first 4 GiB (RAM and the MMIO
 *    hole, so LAPIC/IOAPIC/HPET pointers taken from the boot map stay valid)
 *    and every RAM/ACPI/NVS range of the memory map above it; read-write, NX,
 *    write-back, 1 GiB pages if the CPU has them, else 2 MiB;
 *  - nothing in the lower half: the boot identity map is gone (see
 *    paging_identity_map_low()).
 * All tables, the PML4 included, lie below 4 GiB (a 32-bit CR3 can load it).
 * Boot CPU, once, after frame_init(); APs load the same CR3 with
 * paging_load_kernel(). Panics if the tables cannot be built.
 */
void paging_init(const struct boot_info *bi);
void paging_load_kernel(void);
paddr_t paging_kernel_cr3(void);

/*
 * Map [va, va+size) to [pa, pa+size) in the kernel address space (upper half)
 * with the largest pages alignment allows (4 KiB, 2 MiB, 1 GiB). Returns 0,
 * -EINVAL for misaligned arguments or a lower-half va, -EEXIST if something
 * is mapped there (nothing is then changed), -ENOMEM.
 * Any CPU (takes the paging lock, interrupts off). Flushes this CPU's TLB and,
 * once paging_set_tlb_shootdown() was called, the others'.
 */
int paging_map(vaddr_t va, paddr_t pa, u64 size, u64 flags);
/* Unmap [va, va+size), splitting large pages at the ends. Same rules as paging_map. */
int paging_unmap(vaddr_t va, u64 size);
/*
 * Map device registers uncached at their direct-map address
 * (DIRECT_MAP_BASE + pa), replacing the write-back mapping there in place:
 * large pages around it are split, and no page is ever unmapped meanwhile, so
 * other CPUs using the same registers are safe. Returns the VA of pa, or NULL.
 */
void *paging_map_mmio(paddr_t pa, u64 size);
/* Physical address behind va, or (paddr_t)-1 when unmapped. */
paddr_t paging_translate(vaddr_t va);

/*
 * Identity-map the first 2 MiB (read-write-exec) in the kernel tables, or
 * remove that map again. Off after paging_init. Only for code that must run
 * at its physical address with the kernel's CR3; the AP trampoline does not
 * need it (it builds its own identity map).
 */
int paging_identity_map_low(bool on);

/*
 * Function that invalidates [va, va+size) on every other CPU (kernel/smp's
 * tlb_shootdown); called after a mapping was changed or removed, without the
 * paging lock held. NULL (the default) means only this CPU is flushed.
 */
void paging_set_tlb_shootdown(void (*fn)(u64 va, u64 size));

#endif
