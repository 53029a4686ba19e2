/*
 * Test guest "smp": the boot CPU starts the others with INIT-SIPI-SIPI through
 * its LAPIC ICR; each AP prints a line, records its APIC id and increments
 * shared counters (one with LOCK-prefixed adds, so lost updates show).
 * cpus=N on the command line gives the expected CPU count.
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/lapic.h"

#define TRAMPOLINE 0x8000U
#define MAX_APS 16
#define INCREMENTS 10000
#define WAIT_SPINS 50000000U

extern const u8 smp_tramp_start[], smp_tramp_end[];
void smp_ap_main(u32 index);

static volatile u32 aps_up, aps_done, shared_counter;
static volatile u32 ap_ids[MAX_APS];

void smp_ap_main(u32 index)
{
	rt_idt_load();
	ap_ids[index] = lapic_id();
	rt_printf("smp: AP %u (APIC id %u) running\n", index, ap_ids[index]);
	__atomic_fetch_add(&aps_up, 1, __ATOMIC_SEQ_CST);
	/* Contend with the other APs: every increment must count. */
	while (READ_ONCE(aps_up) < rt_param("cpus", 1) - 1)
		pause();
	for (u32 i = 0; i < INCREMENTS; i++)
		__asm__ __volatile__("lock incl %0" : "+m"(shared_counter));
	__atomic_fetch_add(&aps_done, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		cli();
		hlt();
	}
}

static void start_aps(void)
{
	u32 vector = TRAMPOLINE >> 12;
	bool sent;

	memcpy((void *)TRAMPOLINE, smp_tramp_start, (size_t)(smp_tramp_end - smp_tramp_start));
	sent = lapic_send_ipi(0, LAPIC_ICR_INIT | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF);
	rt_spin(100000);
	sent &= lapic_send_ipi(0, LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF |
				  vector);
	rt_spin(10000);
	sent &= lapic_send_ipi(0, LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF |
				  vector);
	rt_check(sent, "smp: INIT-SIPI-SIPI sent (ICR delivery status cleared)");
}

/* Wait (bounded) until `*what` reaches want; returns the last value. */
static u32 wait_for(volatile u32 *what, u32 want)
{
	for (u32 i = 0; i < WAIT_SPINS && READ_ONCE(*what) < want; i++)
		pause();
	return READ_ONCE(*what);
}

static void check_ids(u32 n, u32 bsp)
{
	bool unique = true;

	for (u32 i = 0; i < n && i < MAX_APS; i++) {
		unique &= ap_ids[i] != bsp;
		for (u32 j = 0; j < i; j++)
			unique &= ap_ids[i] != ap_ids[j];
	}
	rt_check(unique, "smp: APIC ids distinct (BSP %u)", bsp);
}

void guest_main(void)
{
	u32 cpus = rt_param("cpus", 0), up, done, bsp;

	if (cpus < 2 || cpus > MAX_APS + 1) {
		rt_skip("smp: needs cpus=N (2..%u) on the command line, got %u", MAX_APS + 1, cpus);
		return;
	}
	lapic_enable();
	bsp = lapic_id();
	rt_printf("smp: BSP APIC id %u starting %u APs\n", bsp, cpus - 1);
	start_aps();
	up = wait_for(&aps_up, cpus - 1);
	rt_check(up == cpus - 1, "smp: %u of %u APs started", up, cpus - 1);
	done = wait_for(&aps_done, up);
	rt_check(done == up && shared_counter == up * INCREMENTS,
		 "smp: %u APs did %u locked increments (want %u)", done, shared_counter,
		 up * INCREMENTS);
	check_ids(up, bsp);
	/* No more than asked for may have come up. */
	rt_spin(1000000);
	rt_check(aps_up == cpus - 1, "smp: no extra CPUs (%u)", aps_up);
}
