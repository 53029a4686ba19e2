/* Host virtual memory layout, page sizes and physical <-> virtual conversion. */
#ifndef HV_ASM_PAGE_H
#define HV_ASM_PAGE_H

#include "lib/types.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define LARGE_PAGE_SIZE (1UL << 21)
#define HUGE_PAGE_SIZE (1UL << 30)

/* Image window: the kernel runs at KERNEL_VMA + its physical load address. */
#define KERNEL_VMA 0xffffffff80000000UL
/* All RAM is mapped at DIRECT_MAP_BASE + physical address. */
#define DIRECT_MAP_BASE 0xffff800000000000UL
#define DIRECT_MAP_SIZE (1UL << 46) /* 64 TiB */

static inline void *phys_to_virt(paddr_t pa) { return (void *)(DIRECT_MAP_BASE + pa); }

/* Works for direct-map and image-window addresses. */
static inline paddr_t virt_to_phys(const void *va)
{
	vaddr_t v = (vaddr_t)va;

	if (v >= KERNEL_VMA)
		return v - KERNEL_VMA;
	return v - DIRECT_MAP_BASE;
}

extern char _kernel_phys_start[], _kernel_phys_end[], _text[], _etext[], _end[];

#endif
