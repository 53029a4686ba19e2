# hv: a bare-metal type-1 hypervisor for x86-64. See README.md.
BUILD   ?= build
CC      := gcc
NASM    := nasm
LD      := ld
HOSTCC  ?= gcc
QEMU    ?= qemu-system-x86_64

SRC_DIRS := lib arch/x86 mm kernel drivers hv mgmt
C_SRCS   := $(sort $(shell find $(SRC_DIRS) -name '*.c' 2>/dev/null))
ASM_SRCS := $(sort $(shell find boot arch/x86 -name '*.asm' 2>/dev/null))
OBJS     := $(C_SRCS:%.c=$(BUILD)/obj/%.o) $(ASM_SRCS:%.asm=$(BUILD)/obj/%.asm.o)

CFLAGS := -std=gnu11 -ffreestanding -fno-stack-protector -mno-red-zone -mcmodel=kernel \
	-fno-pic -fno-pie -mgeneral-regs-only -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing -fno-common \
	-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
	-I. -Iarch/x86/include -MMD -MP
NASMFLAGS := -f elf64 -g -F dwarf -I.
LDFLAGS := -nostdlib -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T linker.ld

.PHONY: all iso run debug test test-full unit integration bench clean deps-build deps-run deps-test lint check-layers
all: $(BUILD)/hv.elf

# lwIP (fetched on first use) for the management network; adds to OBJS.
include mgmt/lwip/lwip.mk

deps-build:
	@scripts/deps.sh build
deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.asm.o: %.asm boot/layout.inc
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@$(NASM) $(NASMFLAGS) $< -o $@

# Two-pass link: the symbol table (placed after code and data) is generated from
# the first image; text addresses are identical in both images.
$(BUILD)/hv.elf: $(OBJS) linker.ld scripts/gen-ksyms.sh
	@mkdir -p $(BUILD)
	@echo "  LD      $@"
	@scripts/gen-ksyms.sh > $(BUILD)/ksyms0.asm
	@$(NASM) -f elf64 $(BUILD)/ksyms0.asm -o $(BUILD)/ksyms0.o
	@$(LD) $(LDFLAGS) -o $(BUILD)/hv.pass1.elf $(OBJS) $(BUILD)/ksyms0.o
	@scripts/gen-ksyms.sh $(BUILD)/hv.pass1.elf > $(BUILD)/ksyms.asm
	@$(NASM) -f elf64 $(BUILD)/ksyms.asm -o $(BUILD)/ksyms.o
	@$(LD) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/ksyms.o
	@scripts/gen-ksyms.sh $@ | cmp -s - $(BUILD)/ksyms.asm || \
		{ echo "ksyms: text moved between link passes" >&2; rm -f $@; exit 1; }

iso: $(BUILD)/hv.iso
$(BUILD)/hv.iso: $(BUILD)/hv.elf boot/grub/grub.cfg boot/vms.conf $(BUILD)/guests/demo.elf \
		scripts/mkiso.sh
	@echo "  ISO     $@"
	@scripts/mkiso.sh $@ boot/grub/grub.cfg $(BUILD)/hv.elf $(BUILD)/guests/demo.elf boot/vms.conf

QEMU_FLAGS := -machine pc -cpu qemu64,+svm,+npt -smp 4 -m 512 -accel tcg,thread=multi \
	-display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04

run: deps-run
	@$(MAKE) --no-print-directory iso
	$(QEMU) $(QEMU_FLAGS) -cdrom $(BUILD)/hv.iso -serial mon:stdio

debug: deps-run
	@$(MAKE) --no-print-directory iso
	@echo "gdb: target remote :1234 ; symbol-file $(BUILD)/hv.elf"
	$(QEMU) $(QEMU_FLAGS) -cdrom $(BUILD)/hv.iso -serial mon:stdio -s -S

include tests/unit/unit.mk
include tests/guests/guests.mk
include tests/bench/bench.mk

test: deps-test
	@$(MAKE) --no-print-directory check-layers unit iso
	@$(MAKE) --no-print-directory integration

# `make test` with every test guest also run as a VM under Bochs/VMX (test_guests.py runs
# the slowest ones only on QEMU/SVM otherwise, to keep the Bochs part near ten minutes).
test-full: deps-test
	@HV_TEST_FULL=1 $(MAKE) --no-print-directory test

# Boots ISO variants of $(BUILD)/hv.elf in QEMU and Bochs (tests/integration/conftest.py);
# fails when any test fails or none ran. PYTEST_ARGS=-k... selects tests.
integration: deps-test $(BUILD)/hv.elf
	cd tests/integration && HV_BUILD=$(abspath $(BUILD)) QEMU=$(QEMU) \
		/usr/bin/python3 -m pytest -v $(PYTEST_ARGS)

check-layers:
	@scripts/check-layers.sh

lint:
	cppcheck --quiet --inline-suppr --enable=warning,portability --error-exitcode=1 \
		-I. -Iarch/x86/include $(SRC_DIRS)

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d)
