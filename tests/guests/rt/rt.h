/* Test-guest runtime: serial output, results, exit port, boot information, exceptions. */
#ifndef GUEST_RT_RT_H
#define GUEST_RT_RT_H

#include "lib/types.h"
#include "lib/string.h"

/*
 * A guest provides guest_main(). The runtime calls it in 32-bit protected
 * mode (flat segments, paging and interrupts off, its own GDT and IDT
 * loaded, the PIC masked), then prints "RESULT: PASS" when no check failed,
 * else "RESULT: FAIL", and ends through the debug-exit port.
 */
void guest_main(void);

/* ---- output (COM1, polled) ---- */
void rt_serial_init(void);
void rt_putc(char c);
/* Formats with lib/printf.h; the whole line goes out under a lock (APs print too). */
void rt_printf(const char *fmt, ...) __printf(1, 2);

/* ---- results ---- */
void rt_pass(const char *fmt, ...) __printf(1, 2);   /* "PASS: ..." */
void rt_fail(const char *fmt, ...) __printf(1, 2);   /* "FAIL: ..."; the result becomes FAIL */
void rt_skip(const char *fmt, ...) __printf(1, 2);   /* "SKIP: ..." */
/* PASS or FAIL line for a condition; returns ok. */
bool rt_check(bool ok, const char *fmt, ...) __printf(2, 3);
u32 rt_failures(void);
/* Print the RESULT line and exit: code 0 when nothing failed, 1 otherwise. */
__noreturn void rt_finish(void);
/* Write code to the debug-exit port 0xf4 (QEMU isa-debug-exit: status (code<<1)|1). */
__noreturn void rt_exit(u32 code);

/* ---- boot information (Multiboot v1) ---- */
struct rt_mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
};
struct rt_mb_mmap {
	u32 size;
	u64 base, len;
	u32 type;
} __packed;
extern u32 rt_boot_magic;
extern const struct rt_mb_info *rt_boot_info;

/* The command line ("" when none), its words after the image name. */
const char *rt_cmdline(void);
/* Is `word` one of the command-line words? */
bool rt_has_word(const char *word);
/* The value of `key=N` (decimal or 0x), or def when absent or malformed. */
u32 rt_param(const char *key, u32 def);
/* The word "hv" says the guest runs under this project's hypervisor: hv-only checks are due. */
bool rt_under_hv(void);
/* First byte above the highest available RAM below 4 GiB, from the memory map (0: no map). */
u64 rt_ram_top(void);

/* ---- exceptions and interrupts ---- */
struct rt_frame {
	u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
	u32 vector, error;
	u32 eip, cs, eflags;
};
struct rt_fault {
	u32 vector, error, eip, cr2, count;
};
/* The last exception taken (count: how many so far). */
extern volatile struct rt_fault rt_last_fault;
/*
 * Where the next exception resumes (0: an exception is fatal and prints a
 * FAIL line). The handler clears it. Used by the rt_try_* helpers.
 */
extern volatile u32 rt_recover_eip;
/* Access that may fault: 0, or -1 when an exception was taken (see rt_last_fault). */
int rt_try_read32(u32 addr, u32 *val);
int rt_try_write32(u32 addr, u32 val);
int rt_try_read8(u32 addr, u8 *val);

typedef void (*rt_irq_fn)(struct rt_frame *f);
/* Handle vector (32..255); the handler sends the EOI itself. */
void rt_set_irq_handler(u8 vector, rt_irq_fn fn);
void rt_idt_init(void);
void rt_idt_load(void);  /* on an AP: load the same IDT */

/* ---- small helpers (string functions: lib/string.h) ---- */
struct rt_lock {
	volatile u32 locked;
};
void rt_lock(struct rt_lock *l);
void rt_unlock(struct rt_lock *l);

/* Busy-wait about n iterations of PAUSE (no time base is assumed). */
void rt_spin(u32 n);

#endif
