/* Instruction fetch, decode and emulation on behalf of a vCPU (MMIO, lengths). */
#include "hv/insn.h"
#include "hv/emulate.h"
#include "hv/mmu/walk.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "lib/string.h"
#include "kernel/log.h"

#define CR0_PE BIT(0)
#define EFER_LMA BIT(10)

enum x86_mode vcpu_code_mode(const struct vcpu_sregs *s)
{
	const struct vcpu_segment *cs = &s->seg[VCPU_SEG_CS];

	if (!(s->cr0 & CR0_PE))
		return X86_MODE_16;
	if ((s->efer & EFER_LMA) && (cs->attr & SEG_ATTR_L))
		return X86_MODE_64;
	return (cs->attr & SEG_ATTR_DB) ? X86_MODE_32 : X86_MODE_16;
}

static int read_gpa_cb(void *ctx, gpa_t gpa, void *buf, u32 size)
{
	struct vcpu *v = ctx;

	return gmem_read(&v->vm->mem, gpa, buf, size);
}

int vcpu_translate(struct vcpu *v, const struct vcpu_sregs *s, gva_t gva, u32 access,
		   gpa_t *gpa, u32 *pfec)
{
	struct walk_env env = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
				.read_gpa = read_gpa_cb, .ctx = v };
	struct walk_result r;
	int err = guest_walk(&env, gva, access, &r);

	if (err == -EFAULT)
		*pfec = r.pfec;
	if (err)
		return err;
	*gpa = r.gpa;
	return 0;
}

/* Copy between the guest's virtual memory (RAM only) and buf, page by page. */
static int gva_copy(struct vcpu *v, gva_t gva, void *buf, u32 len, bool write)
{
	struct vcpu_sregs s;
	u8 *p = buf;

	virt->get_sregs(v, &s);
	while (len) {
		u32 piece = (u32)MIN((u64)len, 4096 - (gva & 0xfff));
		u32 pfec = 0;
		gpa_t gpa;
		int err = vcpu_translate(v, &s, gva, write ? WALK_WRITE : 0, &gpa, &pfec);

		if (err)
			return err;
		err = write ? gmem_write(&v->vm->mem, gpa, p, piece)
			    : gmem_read(&v->vm->mem, gpa, p, piece);
		if (err)
			return err;
		gva += piece;
		p += piece;
		len -= piece;
	}
	return 0;
}

int vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, u32 len) { return gva_copy(v, gva, buf, len, false); }
int vcpu_write_gva(struct vcpu *v, gva_t gva, const void *buf, u32 len)
{
	return gva_copy(v, gva, (void *)buf, len, true);
}

/* Fetch up to 15 bytes at CS:RIP; stops early at a page that cannot be read. */
static u32 fetch_insn(struct vcpu *v, const struct vcpu_sregs *s, u8 *buf)
{
	enum x86_mode mode = vcpu_code_mode(s);
	gva_t ip = mode == X86_MODE_64 ? v->regs.rip : s->seg[VCPU_SEG_CS].base + v->regs.rip;
	u32 got = 0;

	if (mode != X86_MODE_64)
		ip &= 0xffffffffULL;
	while (got < 15) {
		u32 piece = (u32)MIN(15ULL - got, 4096 - ((ip + got) & 0xfff));
		u32 pfec;
		gpa_t gpa;

		if (vcpu_translate(v, s, ip + got, WALK_FETCH, &gpa, &pfec) ||
		    gmem_read(&v->vm->mem, gpa, buf + got, piece))
			break;
		got += piece;
	}
	return got;
}

int vcpu_decode_current(struct vcpu *v, const struct vcpu_sregs *s, struct x86_insn *insn)
{
	u8 bytes[15];
	u32 n = fetch_insn(v, s, bytes);

	if (n == 0)
		return -EFAULT;
	return x86_decode(bytes, n, vcpu_code_mode(s), insn) ? -EINVAL : 0;
}

u32 vcpu_insn_length(struct vcpu *v)
{
	struct vcpu_sregs s;
	struct x86_insn insn;

	virt->get_sregs(v, &s);
	return vcpu_decode_current(v, &s, &insn) ? 0 : insn.len;
}

/* Emulator callbacks: linear address -> guest-physical -> RAM or the MMIO bus. */
struct mmio_ctx {
	struct x86_emu_ctx emu;
	struct vcpu *v;
	struct vcpu_sregs s;
};

static int mmio_access(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned size, bool write)
{
	struct mmio_ctx *m = container_of(ctx, struct mmio_ctx, emu);
	struct vm *vm = m->v->vm;
	u32 pfec = 0;
	gpa_t gpa;
	int err;

	if (((gva & 0xfff) + size) > 4096) {
		/* Split at the page boundary: each half may be RAM or MMIO. */
		unsigned first = (unsigned)(4096 - (gva & 0xfff));

		err = mmio_access(ctx, gva, buf, first, write);
		return err ? err : mmio_access(ctx, gva + first, (u8 *)buf + first, size - first, write);
	}
	err = vcpu_translate(m->v, &m->s, gva, write ? WALK_WRITE : 0, &gpa, &pfec);
	if (err == -EFAULT)
		return x86_emu_raise(ctx, X86_VEC_PF, true, pfec, gva);
	if (err)
		return err;
	if (gmem_is_ram(&vm->mem, gpa, size))
		return write ? gmem_write(&vm->mem, gpa, buf, size) : gmem_read(&vm->mem, gpa, buf, size);
	for (unsigned off = 0; off < size;) {
		unsigned piece = size - off >= 8 && !((gpa + off) & 7) ? 8 :
				 size - off >= 4 && !((gpa + off) & 3) ? 4 :
				 size - off >= 2 && !((gpa + off) & 1) ? 2 : 1;
		u64 val = 0;

		if (write) {
			memcpy(&val, (u8 *)buf + off, piece);
			err = io_bus_write(&vm->mmio, m->v, gpa + off, (u8)piece, val);
		} else {
			err = io_bus_read(&vm->mmio, m->v, gpa + off, (u8)piece, &val);
			memcpy((u8 *)buf + off, &val, piece);
		}
		if (err)
			return err;
		off += piece;
	}
	return 0;
}

static int mmio_read(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned int size)
{
	return mmio_access(ctx, gva, buf, size, false);
}

static int mmio_write(struct x86_emu_ctx *ctx, u64 gva, const void *buf, unsigned int size)
{
	return mmio_access(ctx, gva, (void *)buf, size, true);
}

int hv_emulate_mmio(struct vcpu *v, const struct vm_exit *e)
{
	struct mmio_ctx m = { .v = v };
	struct x86_insn insn;
	char desc[96];
	int err;

	virt->get_sregs(v, &m.s);
	err = vcpu_decode_current(v, &m.s, &insn);
	if (err) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: cannot %s the instruction at rip %#llx that "
		       "accessed MMIO %#llx", v->id, err == -EINVAL ? "decode" : "fetch",
		       (unsigned long long)v->regs.rip, (unsigned long long)e->npf.gpa);
		return err;
	}
	memcpy(m.emu.gpr, v->regs.gpr, sizeof(m.emu.gpr));
	m.emu.rip = v->regs.rip;
	m.emu.rflags = v->regs.rflags;
	for (int i = 0; i < 6; i++)
		m.emu.seg_base[i] = m.s.seg[i].base;
	m.emu.mode = vcpu_code_mode(&m.s);
	m.emu.read_mem = mmio_read;
	m.emu.write_mem = mmio_write;
	err = x86_emulate(&m.emu, &insn);
	if (err == 0) {
		memcpy(v->regs.gpr, m.emu.gpr, sizeof(v->regs.gpr));
		v->regs.rip = m.emu.rip;
		v->regs.rflags = m.emu.rflags;
		return 0;
	}
	if (err == -EIO) {
		if (m.emu.fault.vector == X86_VEC_PF)
			vcpu_queue_page_fault(v, m.emu.fault.error_code, m.emu.fault.address);
		else
			vcpu_queue_exception(v, m.emu.fault.vector, m.emu.fault.has_error_code,
					     m.emu.fault.error_code);
		return 0;
	}
	x86_insn_describe(&insn, desc, sizeof(desc));
	if (err == -ENOSYS) {
		pr_warn("vm %s vcpu %u: MMIO at %#llx by an instruction not emulated: %s: #UD\n",
			v->vm->name, v->id, (unsigned long long)e->npf.gpa, desc);
		vcpu_queue_exception(v, X86_VEC_UD, false, 0);
		return 0;
	}
	vm_end(v->vm, VM_CRASHED, "vcpu %u: MMIO emulation failed (%d) at %#llx: %s", v->id, err,
	       (unsigned long long)e->npf.gpa, desc);
	return err;
}
