/* Guest physical memory: slots of host memory, and the only checked way to reach them. */
#ifndef HV_HV_MMU_GMEM_H
#define HV_HV_MMU_GMEM_H

#include "hv/types.h"

#define GMEM_CHUNK_SIZE (2ULL << 20) /* guest RAM comes in 2 MiB host-contiguous chunks */
#define GMEM_MAX_SLOTS 8

/*
 * One slot: guest-physical [base, base + size) backed by size / GMEM_CHUNK_SIZE
 * chunks, each physically contiguous and 2 MiB aligned (so nested tables can
 * use 2 MiB pages). base and size are multiples of GMEM_CHUNK_SIZE.
 */
struct gmem_chunk {
	hpa_t hpa;
	u8 *hva;
};

struct gmem_slot {
	gpa_t base;
	u64 size;
	struct gmem_chunk *chunks;
};

/*
 * A VM's memory. Slots are set up before the VM runs and never change while
 * a vCPU runs, so lookups take no lock.
 */
struct gmem {
	u32 nr_slots;
	struct gmem_slot slots[GMEM_MAX_SLOTS];
	u64 total; /* bytes of RAM over all slots */
};

/*
 * Chunk allocator, replaceable for host unit tests: alloc returns a 2 MiB
 * aligned, zeroed chunk (hpa and hva) or -ENOMEM; free gives it back.
 */
struct gmem_allocator {
	int (*alloc)(struct gmem_chunk *c);
	void (*free)(const struct gmem_chunk *c);
};
extern const struct gmem_allocator gmem_host_allocator;

void gmem_init(struct gmem *m);
/* Add RAM at [base, base+size); -EINVAL (misaligned, overlap, too many slots), -ENOMEM. */
int gmem_add_ram(struct gmem *m, gpa_t base, u64 size, const struct gmem_allocator *a);
/* Free every chunk of every slot. */
void gmem_destroy(struct gmem *m, const struct gmem_allocator *a);
/* Zero all guest RAM (VM reset). */
void gmem_clear(struct gmem *m);

/* True when all of [gpa, gpa+len) is guest RAM. */
bool gmem_is_ram(const struct gmem *m, gpa_t gpa, u64 len);
/*
 * Host pointer to [gpa, gpa+len) if the whole range is RAM inside one chunk,
 * else NULL. The pointer stays valid while the VM exists.
 */
void *gmem_ptr(const struct gmem *m, gpa_t gpa, u64 len);
/* Host-physical address of the 2 MiB chunk holding gpa, or 0 (for nested tables). */
hpa_t gmem_chunk_hpa(const struct gmem *m, gpa_t gpa);

/* Copy to/from guest RAM across chunk boundaries; -EFAULT if any byte is not RAM. */
int gmem_read(const struct gmem *m, gpa_t gpa, void *buf, u64 len);
int gmem_write(const struct gmem *m, gpa_t gpa, const void *buf, u64 len);

#endif
