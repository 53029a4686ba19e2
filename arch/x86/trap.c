/* The IDT, interrupt dispatch and fatal-exception reports (Intel SDM vol. 3A ch. 6). */
#include "asm/trap.h"
#include "asm/cpu.h"
#include "asm/gdt.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/page.h"
#include "asm/percpu.h"
#include "lib/ksyms.h"
#include "kernel/log.h"
#include "kernel/panic.h"

_Static_assert(offsetof(struct trap_frame, r15) == 0, "trap frame layout");
_Static_assert(offsetof(struct trap_frame, rax) == 14 * 8, "trap frame layout");
_Static_assert(offsetof(struct trap_frame, vector) == 15 * 8, "trap frame layout");
_Static_assert(offsetof(struct trap_frame, rip) == 17 * 8, "trap frame layout");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout");

struct idt_entry {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;

/* Kernel stacks live in the direct map or the image window, never below. */
#define KERNEL_STACK_MIN_ADDR DIRECT_MAP_BASE
#define IDT_INTERRUPT_GATE 0x8e /* present, DPL0, 64-bit interrupt gate */

bool system_stopping;
static struct idt_entry idt[256] __aligned(16);
static irq_handler_fn handlers[256];
extern const u64 trap_stub_table[256];

static const char *const exception_names[32] = {
	[VEC_DE] = "#DE divide error", [VEC_DB] = "#DB debug", [VEC_NMI] = "NMI",
	[VEC_BP] = "#BP breakpoint", [VEC_OF] = "#OF overflow", [VEC_BR] = "#BR bound range",
	[VEC_UD] = "#UD invalid opcode", [VEC_NM] = "#NM device not available",
	[VEC_DF] = "#DF double fault", [9] = "coprocessor segment overrun",
	[VEC_TS] = "#TS invalid TSS", [VEC_NP] = "#NP segment not present",
	[VEC_SS] = "#SS stack fault", [VEC_GP] = "#GP general protection",
	[VEC_PF] = "#PF page fault", [VEC_MF] = "#MF x87 error", [VEC_AC] = "#AC alignment check",
	[VEC_MC] = "#MC machine check", [VEC_XM] = "#XM SIMD error",
	[VEC_VE] = "#VE virtualization exception", [VEC_CP] = "#CP control protection",
};

static void idt_set(u8 vec, u64 handler, u8 ist)
{
	struct idt_entry *e = &idt[vec];

	e->offset_lo = handler & 0xffff;
	e->selector = GDT_KERNEL_CS;
	e->ist = ist;
	e->type_attr = IDT_INTERRUPT_GATE;
	e->offset_mid = (handler >> 16) & 0xffff;
	e->offset_hi = handler >> 32;
	e->reserved = 0;
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set((u8)v, trap_stub_table[v], 0);
	idt[VEC_DF].ist = IST_DF;
	idt[VEC_NMI].ist = IST_NMI;
	idt[VEC_MC].ist = IST_MC;
}

void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed d = { sizeof(idt) - 1, (u64)idt };

	__asm__ __volatile__("lidt %0" : : "m"(d));
}

void trap_set_handler(u8 vector, irq_handler_fn fn)
{
	BUG_ON(vector < 32 && vector != VEC_NMI);
	WRITE_ONCE(handlers[vector], fn);
}

static void print_symbol(const char *prefix, u64 addr)
{
	u64 off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		printk(LOG_EMERG, "%s[<%016llx>] %s+0x%llx\n", prefix, (unsigned long long)addr, name,
		       (unsigned long long)off);
	else
		printk(LOG_EMERG, "%s[<%016llx>] ?\n", prefix, (unsigned long long)addr);
}

/*
 * Walk saved frame pointers. Every frame must lie above the previous one and
 * within 64 KiB of the start (a kernel stack is smaller), so a corrupt chain
 * ends the walk instead of faulting.
 */
void dump_stack_from(u64 rip, u64 rbp)
{
	u64 limit = rbp + 65536;

	printk(LOG_EMERG, "Call trace:\n");
	print_symbol("  ", rip);
	for (int depth = 0; depth < 32; depth++) {
		const u64 *frame = (const u64 *)rbp;
		u64 next;

		if (rbp < KERNEL_STACK_MIN_ADDR || (rbp & 7) || rbp + 16 > limit)
			break;
		if (frame[1] == 0)
			break;
		print_symbol("  ", frame[1]);
		next = frame[0];
		if (next <= rbp)
			break;
		rbp = next;
	}
}

void dump_stack(void)
{
	u64 rbp;

	__asm__ __volatile__("movq %%rbp, %0" : "=r"(rbp));
	dump_stack_from((u64)__builtin_return_address(0), ((const u64 *)rbp)[0]);
}

void trap_dump_frame(const struct trap_frame *tf)
{
	const char *name = tf->vector < 32 ? exception_names[tf->vector] : "interrupt";
	struct percpu *p = this_cpu();

	printk(LOG_EMERG, "*** CPU %u (APIC %u): exception %llu (%s), error code %#llx\n",
	       p ? p->cpu : 0, p ? p->apic_id : 0, (unsigned long long)tf->vector,
	       name ? name : "reserved", (unsigned long long)tf->error_code);
	print_symbol("RIP: ", tf->rip);
	printk(LOG_EMERG, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
	       (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
	       (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
	printk(LOG_EMERG, "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n",
	       (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
	       (unsigned long long)tf->rbp, (unsigned long long)tf->rsp);
	printk(LOG_EMERG, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n",
	       (unsigned long long)tf->r8, (unsigned long long)tf->r9,
	       (unsigned long long)tf->r10, (unsigned long long)tf->r11);
	printk(LOG_EMERG, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
	       (unsigned long long)tf->r12, (unsigned long long)tf->r13,
	       (unsigned long long)tf->r14, (unsigned long long)tf->r15);
	printk(LOG_EMERG, "RIP=%016llx RFLAGS=%016llx CS=%04llx SS=%04llx\n",
	       (unsigned long long)tf->rip, (unsigned long long)tf->rflags,
	       (unsigned long long)tf->cs, (unsigned long long)tf->ss);
	printk(LOG_EMERG, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
	       (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
	       (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	dump_stack_from(tf->rip, tf->rbp);
}

static void handle_nmi(struct trap_frame *tf)
{
	if (READ_ONCE(system_stopping)) {
		/* Another CPU panicked: stay here with interrupts off (NMIs stay blocked). */
		printk(LOG_EMERG, "CPU %u stopped\n", this_cpu()->cpu);
		for (;;)
			cpu_halt();
	}
	if (handlers[VEC_NMI]) {
		handlers[VEC_NMI](tf);
		return;
	}
	printk(LOG_WARN, "unexpected NMI on CPU %u at %#llx\n", this_cpu()->cpu,
	       (unsigned long long)tf->rip);
}

static void handle_interrupt(struct trap_frame *tf)
{
	irq_handler_fn fn = READ_ONCE(handlers[tf->vector]);
	static bool warned[256];

	this_cpu()->irq_count++;
	if (fn) {
		fn(tf);
		return;
	}
	if (tf->vector == VEC_SPURIOUS)
		return; /* no EOI for spurious interrupts (SDM 11.9) */
	if (tf->vector >= VEC_PIC_BASE && tf->vector < VEC_PIC_BASE + 16)
		return; /* a masked 8259 can still raise its spurious IRQ 7/15 */
	if (!warned[tf->vector]) {
		warned[tf->vector] = true;
		printk(LOG_WARN, "unexpected interrupt vector %#llx on CPU %u (reported once)\n",
		       (unsigned long long)tf->vector, this_cpu()->cpu);
	}
	lapic_eoi();
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	if (tf->vector == VEC_NMI) {
		handle_nmi(tf);
		return;
	}
	if (tf->vector >= 32) {
		handle_interrupt(tf);
		return;
	}
	if (!panic_begin()) {
		for (;;)
			cpu_halt();
	}
	trap_dump_frame(tf);
	panic_halt("fatal exception in the hypervisor");
}
