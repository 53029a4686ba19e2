/* Physical frame allocator: memory-map planning, buddy zones, locking and statistics. */
#include "mm/frame.h"
#include "mm/frame_internal.h"
#include "mm/buddy.h"
#include "mm/range.h"
#include "lib/string.h"
#include "asm/page.h"
#include "asm/spinlock.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define LOW_MEMORY_END 0x100000ULL     /* the first 1 MiB stays out */
#define EARLY_MAP_END (1ULL << 32)      /* entry.asm direct-maps the first 4 GiB */
#define ZONE_MAX_FRAMES 0xfffc0000ULL  /* frame indices are u32; keep whole 1 GiB blocks */
/* Every removal splits at most one range: map entries + removals bound the count. */
#define PLAN_RANGES (2 * BOOT_MAX_MMAP + BOOT_MAX_MODULES + FRAME_MAX_ZONES + 8)

/* frame_lock protects the zones' metadata and free lists (not owner fields). */
static struct spinlock frame_lock = SPINLOCK_INIT;
static struct buddy_zone zones[FRAME_MAX_ZONES];
static unsigned nr_zones;
static u64 frames_total, frames_reserved;

/* Boot-time planning buffers (used once, by frame_init_from). */
static struct range ram_buf[PLAN_RANGES], free_buf[PLAN_RANGES];
static struct range zone_span[PLAN_RANGES];

static u64 clamp_end(u64 base, u64 len)
{
	if (base >= DIRECT_MAP_SIZE)
		return base;
	return len > DIRECT_MAP_SIZE - base ? DIRECT_MAP_SIZE : base + len;
}

/* RAM of the map minus everything a non-RAM entry touches (non-RAM wins overlaps). */
static int plan_ram(const struct boot_info *bi, struct range_set *ram)
{
	int err = 0;

	for (u32 i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mem_range *m = &bi->mmap[i];

		if (m->type == BOOT_MEM_RAM)
			err |= range_set_add(ram, ALIGN_UP(m->base, PAGE_SIZE),
					     ALIGN_DOWN(clamp_end(m->base, m->len), PAGE_SIZE));
	}
	for (u32 i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mem_range *m = &bi->mmap[i];

		if (m->type != BOOT_MEM_RAM)
			err |= range_set_remove(ram, ALIGN_DOWN(m->base, PAGE_SIZE),
						ALIGN_UP(clamp_end(m->base, m->len), PAGE_SIZE));
	}
	return err;
}

static int remove_span(struct range_set *s, u64 start, u64 end)
{
	if (end <= start)
		return 0;
	return range_set_remove(s, ALIGN_DOWN(start, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE));
}

/* Free RAM: the RAM set without low memory, the image, the loader data, the modules. */
static int plan_free(const struct boot_info *bi, paddr_t kstart, paddr_t kend,
		     struct range_set *fr)
{
	int err = 0;

	err |= remove_span(fr, 0, LOW_MEMORY_END);
	err |= remove_span(fr, kstart, kend);
	err |= remove_span(fr, bi->info_phys, bi->info_phys + bi->info_len);
	for (u32 i = 0; i < bi->nr_modules; i++)
		err |= remove_span(fr, bi->modules[i].start, bi->modules[i].end);
	return err;
}

/* Zone spans: the RAM extents above 1 MiB, joining the closest ones if too many. */
static u32 plan_zones(const struct range_set *ram)
{
	u32 n = 0;

	for (u32 i = 0; i < ram->nr; i++) {
		u64 s = MAX(ram->r[i].start, LOW_MEMORY_END);

		if (s < ram->r[i].end) {
			zone_span[n].start = s;
			zone_span[n++].end = ram->r[i].end;
		}
	}
	while (n > FRAME_MAX_ZONES) {
		u32 best = 0;

		for (u32 i = 1; i + 1 < n; i++)
			if (zone_span[i + 1].start - zone_span[i].end <
			    zone_span[best + 1].start - zone_span[best].end)
				best = i;
		zone_span[best].end = zone_span[best + 1].end;
		memmove(&zone_span[best + 1], &zone_span[best + 2],
			(n - best - 2) * sizeof(zone_span[0]));
		n--;
	}
	for (u32 i = 0; i < n; i++)
		if ((zone_span[i].end - zone_span[i].start) / PAGE_SIZE > ZONE_MAX_FRAMES) {
			pr_warn("frame: RAM extent at %#llx too large for one zone, truncated\n",
				(unsigned long long)zone_span[i].start);
			zone_span[i].end = zone_span[i].start + ZONE_MAX_FRAMES * PAGE_SIZE;
		}
	return n;
}

/* Take `bytes` of free RAM that meta_ptr can reach; returns the pointer or NULL. */
static void *carve_meta(struct range_set *fr, u64 bytes, void *(*meta_ptr)(paddr_t, u64))
{
	for (u32 i = 0; i < fr->nr; i++) {
		u64 s = fr->r[i].start, e = fr->r[i].end;
		paddr_t tries[2] = { e - bytes, s };

		if (e - s < bytes)
			continue;
		for (unsigned t = 0; t < 2; t++) {
			void *p = meta_ptr(tries[t], bytes);

			if (p) {
				if (range_set_remove(fr, tries[t], tries[t] + bytes))
					return NULL;
				return p;
			}
		}
	}
	return NULL;
}

static void reset_state(void)
{
	memset(zones, 0, sizeof(zones));
	nr_zones = 0;
	frames_total = frames_reserved = 0;
	spin_lock_init(&frame_lock);
}

/* Create the zones (metadata first), then hand every free range to its zone. */
static void build_zones(u32 nspans, struct range_set *fr, void *(*meta_ptr)(paddr_t, u64))
{
	for (u32 i = 0; i < nspans; i++) {
		u64 nframes = (zone_span[i].end - zone_span[i].start) / PAGE_SIZE;
		u64 bytes = ALIGN_UP(nframes * sizeof(struct buddy_frame), PAGE_SIZE);
		struct buddy_frame *meta = carve_meta(fr, bytes, meta_ptr);

		if (!meta) {
			pr_err("frame: no reachable RAM for %llu KiB of metadata; RAM %#llx-%#llx unused\n",
			       (unsigned long long)(bytes >> 10),
			       (unsigned long long)zone_span[i].start,
			       (unsigned long long)zone_span[i].end);
			continue;
		}
		buddy_zone_init(&zones[nr_zones++], zone_span[i].start / PAGE_SIZE, nframes, meta);
	}
	for (u32 i = 0; i < fr->nr; i++)
		for (unsigned z = 0; z < nr_zones; z++) {
			u64 zs = zones[z].base_pfn * PAGE_SIZE;
			u64 ze = zs + zones[z].nr_frames * PAGE_SIZE;
			u64 s = MAX(fr->r[i].start, zs), e = MIN(fr->r[i].end, ze);

			if (s < e)
				frames_total += buddy_zone_add(&zones[z], s / PAGE_SIZE,
							       (e - s) / PAGE_SIZE);
		}
}

int frame_init_from(const struct boot_info *bi, paddr_t kstart, paddr_t kend,
		    void *(*meta_ptr)(paddr_t pa, u64 len))
{
	struct range_set ram, fr;
	u64 ram_frames;
	u32 nspans;

	reset_state();
	range_set_init(&ram, ram_buf, PLAN_RANGES);
	range_set_init(&fr, free_buf, PLAN_RANGES);
	if (plan_ram(bi, &ram))
		return -ENOSPC;
	ram_frames = range_set_total(&ram) / PAGE_SIZE;
	memcpy(free_buf, ram_buf, ram.nr * sizeof(ram_buf[0]));
	fr.nr = ram.nr;
	if (plan_free(bi, kstart, kend, &fr))
		return -ENOSPC;
	nspans = plan_zones(&ram);
	build_zones(nspans, &fr, meta_ptr);
	frames_reserved = ram_frames - frames_total;
	return frames_total ? 0 : -ENOMEM;
}

static void *early_meta_ptr(paddr_t pa, u64 len)
{
	if (pa >= EARLY_MAP_END || len > EARLY_MAP_END - pa)
		return NULL;
	return phys_to_virt(pa);
}

/* Allocate and free a few blocks; the pool must come back whole. */
static void frame_self_test(void)
{
	static const unsigned orders[] = { 0, 3, 9, 0, 1 };
	paddr_t got[ARRAY_SIZE(orders)];
	struct frame_stats before, after;

	frame_get_stats(&before);
	for (unsigned i = 0; i < ARRAY_SIZE(orders); i++) {
		got[i] = frame_alloc(orders[i]);
		BUG_ON(got[i] && !IS_ALIGNED(got[i], PAGE_SIZE << orders[i]));
	}
	for (unsigned i = ARRAY_SIZE(orders); i-- > 0;)
		if (got[i])
			frame_free(got[i], orders[i]);
	frame_get_stats(&after);
	BUG_ON(after.free != before.free);
}

void frame_init(const struct boot_info *bi)
{
	int err = frame_init_from(bi, (paddr_t)_kernel_phys_start, (paddr_t)_kernel_phys_end,
				  early_meta_ptr);
	struct frame_stats st;

	if (err)
		panic("frame: no usable RAM in the memory map (%d)", err);
	for (unsigned i = 0; i < nr_zones; i++)
		pr_debug("frame: zone %u: %#llx-%#llx, %llu frames free\n", i,
			 (unsigned long long)(zones[i].base_pfn * PAGE_SIZE),
			 (unsigned long long)((zones[i].base_pfn + zones[i].nr_frames) * PAGE_SIZE),
			 (unsigned long long)zones[i].nr_free);
	frame_self_test();
	frame_get_stats(&st);
	pr_info("frame: %llu MiB managed in %u zones, %llu MiB free, %llu MiB reserved\n",
		(unsigned long long)(st.total >> (20 - PAGE_SHIFT)), nr_zones,
		(unsigned long long)(st.free >> (20 - PAGE_SHIFT)),
		(unsigned long long)(st.reserved >> (20 - PAGE_SHIFT)));
}

static struct buddy_zone *zone_of(u64 pfn)
{
	for (unsigned i = 0; i < nr_zones; i++)
		if (buddy_zone_contains(&zones[i], pfn))
			return &zones[i];
	return NULL;
}

paddr_t frame_alloc_below(unsigned order, paddr_t limit)
{
	u64 flags, pfn = 0, limit_pfn = limit / PAGE_SIZE;
	bool found = false;

	if (order > FRAME_MAX_ORDER)
		return 0;
	flags = spin_lock_irqsave(&frame_lock);
	for (unsigned i = 0; i < nr_zones && !found; i++)
		found = buddy_alloc(&zones[i], order, limit_pfn, &pfn) == 0;
	spin_unlock_irqrestore(&frame_lock, flags);
	return found ? pfn * PAGE_SIZE : 0;
}

paddr_t frame_alloc(unsigned order) { return frame_alloc_below(order, ~(paddr_t)0); }

paddr_t frame_alloc_zeroed(unsigned order)
{
	paddr_t pa = frame_alloc(order);

	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
	return pa;
}

void frame_free(paddr_t pa, unsigned order)
{
	struct buddy_zone *z = zone_of(pa / PAGE_SIZE);
	const char *why = "address not page aligned";
	int err = -EINVAL;
	u64 flags;

	if (z && IS_ALIGNED(pa, PAGE_SIZE)) {
		flags = spin_lock_irqsave(&frame_lock);
		err = buddy_free(z, pa / PAGE_SIZE, order, &why);
		spin_unlock_irqrestore(&frame_lock, flags);
	} else if (!z) {
		why = "not RAM managed by the frame allocator";
	}
	if (err)
		pr_err("frame_free(%#llx, order %u) from %p refused: %s\n",
		       (unsigned long long)pa, order, __builtin_return_address(0), why);
}

void frame_set_owner(paddr_t pa, u16 owner, u64 priv)
{
	struct buddy_zone *z = zone_of(pa / PAGE_SIZE);
	struct buddy_frame *f;

	if (!z)
		return;
	f = buddy_frame_of(z, pa / PAGE_SIZE);
	if (READ_ONCE(f->state) == BUDDY_FREE) {
		pr_err("frame_set_owner(%#llx) from %p: frame is free\n", (unsigned long long)pa,
		       __builtin_return_address(0));
		return;
	}
	f->priv = priv;
	f->tag = owner;
}

u16 frame_get_owner(paddr_t pa, u64 *priv)
{
	struct buddy_zone *z = zone_of(pa / PAGE_SIZE);
	struct buddy_frame *f;
	u16 tag;

	if (!z)
		return FRAME_OWNER_NONE;
	f = buddy_frame_of(z, pa / PAGE_SIZE);
	tag = READ_ONCE(f->tag);
	if (tag != FRAME_OWNER_NONE && READ_ONCE(f->state) != BUDDY_FREE)
		*priv = f->priv;
	else
		tag = FRAME_OWNER_NONE;
	return tag;
}

void frame_get_stats(struct frame_stats *st)
{
	u64 flags;

	memset(st, 0, sizeof(*st));
	st->total = frames_total;
	st->reserved = frames_reserved;
	flags = spin_lock_irqsave(&frame_lock);
	for (unsigned i = 0; i < nr_zones; i++) {
		st->free += zones[i].nr_free;
		for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++)
			st->free_by_order[o] += zones[i].nr_free_blocks[o];
	}
	spin_unlock_irqrestore(&frame_lock, flags);
}
