/*
 * Test guest "badmem": writes beyond its RAM and to unmapped guest-physical
 * addresses (below and above 4 GiB), reads them back (all ones under hv: the
 * hypervisor drops such writes and reads unclaimed addresses as ones), and
 * checks that its own RAM is intact and it still runs.
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"
#include "lib/printf.h"

#define CANARY_WORDS 4096
#define HIGH_VA 0x40000000U
#define STRING_WORDS 64

static u32 canary[CANARY_WORDS];
static u32 landing[STRING_WORDS];

static u32 canary_value(u32 i) { return i * 0x9e3779b9U ^ 0x5a5a5a5aU; }

/* Write, then read back 32 and 8 bits; no fault allowed; all ones expected under hv. */
static void probe(const char *what, u32 addr, bool hv)
{
	u32 v32 = 0;
	u8 v8 = 0;
	int w = rt_try_write32(addr, 0x12345678);
	int r = rt_try_read32(addr, &v32) | rt_try_read8(addr + 1, &v8);

	if (w || r) {
		rt_fail("badmem: %s 0x%08x: exception %u (error 0x%x)", what, addr,
			rt_last_fault.vector, rt_last_fault.error);
		return;
	}
	if (!hv) {
		rt_skip("badmem: %s 0x%08x reads 0x%08x/0x%02x (all ones checked only under hv)", what,
			addr, v32, v8);
		return;
	}
	rt_check(v32 == 0xffffffffU && v8 == 0xff, "badmem: %s 0x%08x: write dropped, reads 0x%08x/0x%02x",
		 what, addr, v32, v8);
}

/* REP STOS into and REP MOVS out of an unmapped range (the string-op emulation path). */
static void probe_strings(u32 addr, bool hv)
{
	u32 d = addr, s = addr, n = STRING_WORDS;
	bool ones = true;

	__asm__ __volatile__("cld; rep stosl" : "+D"(d), "+c"(n) : "a"(0xdeadbeef) : "memory");
	n = STRING_WORDS;
	d = (u32)landing;
	__asm__ __volatile__("cld; rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	for (u32 i = 0; i < STRING_WORDS; i++)
		ones &= landing[i] == 0xffffffffU;
	if (hv)
		rt_check(ones, "badmem: rep stos/movs on unmapped 0x%08x (landing[0] 0x%08x)", addr,
			 landing[0]);
	else
		rt_skip("badmem: rep stos/movs on unmapped 0x%08x gave 0x%08x", addr, landing[0]);
}

/* Above 4 GiB through PAE paging: the guest has no RAM there. */
static void probe_above_4g(bool hv)
{
	static const u64 targets[] = { 0x100000000ULL, 0x1000000000ULL, 0xfffffff000ULL };
	u32 cr3 = pae_identity();

	pae_enable(cr3);
	for (u32 i = 0; i < ARRAY_SIZE(targets); i++) {
		char what[40];

		pae_map4k(cr3, HIGH_VA, targets[i], PTE_P | PTE_W);
		invlpg(HIGH_VA);
		ksnprintf(what, sizeof(what), "above 4 GiB (PA 0x%llx) at", targets[i]);
		probe(what, HIGH_VA + 0x10, hv);
	}
	write_cr0(read_cr0() & ~CR0_PG);
}

void guest_main(void)
{
	bool hv = rt_under_hv(), intact = true;
	u64 top = rt_ram_top();

	for (u32 i = 0; i < CANARY_WORDS; i++)
		canary[i] = canary_value(i);
	if (!top || top >= 0xc0000000ULL) {
		rt_fail("badmem: no usable memory map (RAM top 0x%llx)", top);
		return;
	}
	rt_printf("badmem: RAM ends at 0x%llx\n", top);
	probe("first byte after RAM", (u32)top, hv);
	probe("last word of the page after RAM", (u32)top + 4092, hv);
	probe("16 MiB after RAM", (u32)top + (16 << 20), hv);
	probe("unmapped", 0xc0000000U, hv);
	probe("unmapped", 0xd0001234U, hv);
	for (u32 a = (u32)top; a < (u32)top + (1 << 20); a += 4096)
		rt_try_write32(a + 8, a);
	rt_pass("badmem: 256 writes to pages past RAM survived");
	probe_strings(0xd0000000U, hv);
	probe_above_4g(hv);
	for (u32 i = 0; i < CANARY_WORDS; i++)
		intact &= canary[i] == canary_value(i);
	rt_check(intact, "badmem: own RAM intact");
	rt_check(cpuid(0, 0).eax >= 1, "badmem: still running (CPUID answers)");
}
