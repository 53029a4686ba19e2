/* PIT (8254) channel 2 one-shot behind the port 0x61 gate, as a calibration reference. */
#include "arch/x86/timer_ref.h"
#include "asm/io.h"

/* Intel 8254 data sheet, and the PC/AT port 0x61 (NMI status and control) layout. */
#define PIT_CH2_DATA 0x42
#define PIT_CMD 0x43
#define PIT_CMD_CH2 (2 << 6)
#define PIT_CMD_LOHI (3 << 4)
#define PIT_CMD_MODE0 (0 << 1)
#define PORT61 0x61
#define PORT61_GATE2 BIT(0)
#define PORT61_SPEAKER BIT(1)
#define PORT61_OUT2 BIT(5)

void pit_oneshot_start(u16 count)
{
	u8 v = inb(PORT61) & ~(PORT61_GATE2 | PORT61_SPEAKER);

	outb(PORT61, v);
	/* Mode 0: OUT2 goes low on the command, high at terminal count. */
	outb(PIT_CMD, PIT_CMD_CH2 | PIT_CMD_LOHI | PIT_CMD_MODE0);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	outb(PORT61, v | PORT61_GATE2);
}

bool pit_oneshot_done(void) { return inb(PORT61) & PORT61_OUT2; }

void pit_oneshot_stop(void) { outb(PORT61, inb(PORT61) & ~(PORT61_GATE2 | PORT61_SPEAKER)); }
