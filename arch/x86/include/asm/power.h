/* Machine reset and power-off (ACPI 6.x sections 4.8.3.6 and 7.4.2, PC chipset fallbacks). */
#ifndef HV_ASM_POWER_H
#define HV_ASM_POWER_H

#include "lib/types.h"

/*
 * Reset the machine: the FADT reset register when there is one, then the
 * chipset reset control port 0xcf9, then the keyboard controller (0x64 <-
 * 0xfe), then a triple fault. Any CPU, any context (after acpi_init() for
 * the first method; time_init() for accurate waits). Never returns.
 */
void machine_reboot(void) __noreturn;

/*
 * Enter ACPI S5: SLP_TYP (from the DSDT's \_S5) | SLP_EN into PM1a_CNT (and
 * PM1b_CNT), switching the chipset into ACPI mode first when it is still in
 * legacy mode. Under QEMU `pc`/`q35` this ends QEMU with status 0. When
 * there is no way to power off, or it does not take, print why and halt this
 * CPU with interrupts off. Never returns.
 */
void machine_poweroff(void) __noreturn;

#endif
