/* Guest physical memory: slots of 2 MiB host chunks and bounds-checked access to them. */
#include "hv/mmu/gmem.h"
#include "lib/string.h"
#include "kernel/log.h"
#ifndef HV_HOST_TEST
#include "asm/page.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#define gmem_calloc(n, sz) kzalloc((n) * (sz))
#define gmem_free_array kfree
#else
#include <stdlib.h>
#define gmem_calloc(n, sz) calloc((n), (sz))
#define gmem_free_array free
#endif

#define CHUNK_ORDER 9 /* 2^9 frames of 4 KiB = 2 MiB */

#ifndef HV_HOST_TEST
static int host_chunk_alloc(struct gmem_chunk *c)
{
	paddr_t pa = frame_alloc_zeroed(CHUNK_ORDER);

	if (!pa)
		return -ENOMEM;
	c->hpa = pa;
	c->hva = phys_to_virt(pa);
	return 0;
}

static void host_chunk_free(const struct gmem_chunk *c) { frame_free(c->hpa, CHUNK_ORDER); }

const struct gmem_allocator gmem_host_allocator = { host_chunk_alloc, host_chunk_free };
#endif

void gmem_init(struct gmem *m) { memset(m, 0, sizeof(*m)); }

static bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

int gmem_add_ram(struct gmem *m, gpa_t base, u64 size, const struct gmem_allocator *a)
{
	struct gmem_slot *s;
	u64 n;

	if (!size || !IS_ALIGNED(base, GMEM_CHUNK_SIZE) || !IS_ALIGNED(size, GMEM_CHUNK_SIZE) ||
	    base + size < base || m->nr_slots >= GMEM_MAX_SLOTS)
		return -EINVAL;
	for (u32 i = 0; i < m->nr_slots; i++)
		if (ranges_overlap(base, size, m->slots[i].base, m->slots[i].size))
			return -EINVAL;
	n = size / GMEM_CHUNK_SIZE;
	s = &m->slots[m->nr_slots];
	s->chunks = gmem_calloc(n, sizeof(*s->chunks));
	if (!s->chunks)
		return -ENOMEM;
	for (u64 i = 0; i < n; i++) {
		if (a->alloc(&s->chunks[i])) {
			while (i--)
				a->free(&s->chunks[i]);
			gmem_free_array(s->chunks);
			s->chunks = NULL;
			return -ENOMEM;
		}
	}
	s->base = base;
	s->size = size;
	m->nr_slots++;
	m->total += size;
	return 0;
}

void gmem_destroy(struct gmem *m, const struct gmem_allocator *a)
{
	for (u32 i = 0; i < m->nr_slots; i++) {
		struct gmem_slot *s = &m->slots[i];

		for (u64 c = 0; c < s->size / GMEM_CHUNK_SIZE; c++)
			a->free(&s->chunks[c]);
		gmem_free_array(s->chunks);
	}
	gmem_init(m);
}

void gmem_clear(struct gmem *m)
{
	for (u32 i = 0; i < m->nr_slots; i++)
		for (u64 c = 0; c < m->slots[i].size / GMEM_CHUNK_SIZE; c++)
			memset(m->slots[i].chunks[c].hva, 0, GMEM_CHUNK_SIZE);
}

/* The slot holding gpa, or NULL. Overflow-safe for any gpa. */
static const struct gmem_slot *find_slot(const struct gmem *m, gpa_t gpa)
{
	for (u32 i = 0; i < m->nr_slots; i++) {
		const struct gmem_slot *s = &m->slots[i];

		if (gpa >= s->base && gpa - s->base < s->size)
			return s;
	}
	return NULL;
}

bool gmem_is_ram(const struct gmem *m, gpa_t gpa, u64 len)
{
	while (len) {
		const struct gmem_slot *s = find_slot(m, gpa);
		u64 in_slot;

		if (!s)
			return false;
		in_slot = s->size - (gpa - s->base);
		if (in_slot >= len)
			return true;
		len -= in_slot;
		gpa += in_slot;
	}
	return true;
}

void *gmem_ptr(const struct gmem *m, gpa_t gpa, u64 len)
{
	const struct gmem_slot *s = find_slot(m, gpa);
	u64 off, in_chunk;

	if (!s || len == 0)
		return NULL;
	off = gpa - s->base;
	in_chunk = GMEM_CHUNK_SIZE - (off % GMEM_CHUNK_SIZE);
	if (len > in_chunk)
		return NULL;
	return s->chunks[off / GMEM_CHUNK_SIZE].hva + off % GMEM_CHUNK_SIZE;
}

hpa_t gmem_chunk_hpa(const struct gmem *m, gpa_t gpa)
{
	const struct gmem_slot *s = find_slot(m, gpa);

	if (!s)
		return 0;
	return s->chunks[(gpa - s->base) / GMEM_CHUNK_SIZE].hpa;
}

/* Copy between a buffer and guest RAM, one chunk piece at a time. */
static int gmem_copy(const struct gmem *m, gpa_t gpa, void *buf, u64 len, bool to_guest)
{
	u8 *p = buf;

	if (!gmem_is_ram(m, gpa, len))
		return -EFAULT;
	while (len) {
		u64 piece = GMEM_CHUNK_SIZE - (gpa % GMEM_CHUNK_SIZE);
		u8 *h;

		if (piece > len)
			piece = len;
		h = gmem_ptr(m, gpa, piece);
		if (!h)
			return -EFAULT;
		if (to_guest)
			memcpy(h, p, piece);
		else
			memcpy(p, h, piece);
		p += piece;
		gpa += piece;
		len -= piece;
	}
	return 0;
}

int gmem_read(const struct gmem *m, gpa_t gpa, void *buf, u64 len)
{
	return gmem_copy(m, gpa, buf, len, false);
}

int gmem_write(const struct gmem *m, gpa_t gpa, const void *buf, u64 len)
{
	return gmem_copy(m, gpa, (void *)buf, len, true);
}
