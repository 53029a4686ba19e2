# Test guests: freestanding Multiboot v1 ELF32 kernels built as build/guests/<name>.elf.
# Each is tests/guests/<name>.c (plus tests/guests/<name>_*.asm, if any) linked with the
# runtime in tests/guests/rt/ and lib/printf.c, lib/string.c. They boot under the
# hypervisor and under plain `qemu-system-x86_64 -kernel` (see tests/guests/README.md).
GUEST_NAMES := hello cpuid pio mmio timer paging badmem triplefault spin smp pgperm pgalias pgswitch pgsmp demo realmode
GUEST_OBJ := $(BUILD)/guests/obj
GUEST_CFLAGS := -m32 -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-mgeneral-regs-only -mpreferred-stack-boundary=2 -fno-asynchronous-unwind-tables \
	-fno-strict-aliasing -fno-common -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wmissing-prototypes -I. -Iarch/x86/include -Itests/guests -MMD -MP
GUEST_NASMFLAGS := -f elf32 -g -F dwarf
GUEST_LDS := tests/guests/rt/guest.ld
GUEST_LDFLAGS := -m elf_i386 -nostdlib -z max-page-size=4096 -z noexecstack \
	--no-warn-rwx-segments -T $(GUEST_LDS)

GUEST_RT_SRCS := $(sort $(wildcard tests/guests/rt/*.c)) lib/printf.c lib/string.c
GUEST_RT_ASMS := $(sort $(wildcard tests/guests/rt/*.asm))
GUEST_RT_OBJS := $(GUEST_RT_SRCS:%.c=$(GUEST_OBJ)/%.o) $(GUEST_RT_ASMS:%.asm=$(GUEST_OBJ)/%.asm.o)
GUEST_ELFS := $(GUEST_NAMES:%=$(BUILD)/guests/%.elf)

$(GUEST_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	@$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJ)/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM32  $<"
	@$(NASM) $(GUEST_NASMFLAGS) $< -o $@

define guest_rule
$(1)_GUEST_OBJS := $(GUEST_OBJ)/tests/guests/$(1).o \
	$$(patsubst %.asm,$(GUEST_OBJ)/%.asm.o,$$(wildcard tests/guests/$(1)_*.asm))
$(BUILD)/guests/$(1).elf: $$($(1)_GUEST_OBJS) $(GUEST_RT_OBJS) $(GUEST_LDS)
	@echo "  LD32    $$@"
	@$(LD) $(GUEST_LDFLAGS) -o $$@ $$($(1)_GUEST_OBJS) $(GUEST_RT_OBJS)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rule,$(g))))

.PHONY: guests
guests: $(GUEST_ELFS)

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)
