/* HPET main counter as a calibration reference (IA-PC HPET specification 1.0a, section 2.3). */
#include "arch/x86/timer_ref.h"
#include "asm/acpi.h"

#define HPET_MMIO_SIZE 0x400
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_MAIN_COUNTER 0x0f0
#define HPET_GCAP_COUNT_SIZE_CAP BIT(13)
#define HPET_GCAP_PERIOD_SHIFT 32
#define HPET_CONF_ENABLE BIT(0)
#define HPET_MAX_PERIOD_FS 100000000ULL /* spec: at most 100 ns */
#define FS_PER_S 1000000000000000ULL

static volatile u64 *hpet_regs;
static u64 hpet_freq;
static u32 hpet_bits;

int hpet_init(paddr_t base)
{
	u64 cap, period;

	hpet_regs = platform_map_mmio(base, HPET_MMIO_SIZE);
	if (!hpet_regs)
		return -ENODEV;
	cap = hpet_regs[HPET_GCAP_ID / 8];
	period = cap >> HPET_GCAP_PERIOD_SHIFT;
	if (period == 0 || period > HPET_MAX_PERIOD_FS) {
		hpet_regs = NULL;
		return -ENODEV;
	}
	hpet_freq = FS_PER_S / period;
	hpet_bits = (cap & HPET_GCAP_COUNT_SIZE_CAP) ? 64 : 32;
	if (!(hpet_regs[HPET_GEN_CONF / 8] & HPET_CONF_ENABLE))
		hpet_regs[HPET_GEN_CONF / 8] |= HPET_CONF_ENABLE;
	return 0;
}

u64 hpet_hz(void) { return hpet_freq; }
u32 hpet_counter_bits(void) { return hpet_bits; }

u64 hpet_read(void)
{
	/* A 32-bit counter is read with a 32-bit access (spec 2.4.7). */
	if (hpet_bits == 32)
		return ((volatile u32 *)hpet_regs)[HPET_MAIN_COUNTER / 4];
	return hpet_regs[HPET_MAIN_COUNTER / 8];
}
