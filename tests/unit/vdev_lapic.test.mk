# Virtual local APIC (hv/dev/vlapic*.c): registers, priorities, timer on a fake clock, IPIs, x2APIC.
UNIT_TESTS += vdev_lapic
vdev_lapic_SRCS := tests/unit/test_vlapic.c tests/unit/test_vdev_stubs.c hv/dev/vlapic.c \
	hv/dev/vlapic_timer.c hv/dev/vlapic_regs.c hv/iobus.c
vdev_lapic_CFLAGS := -iquote tests/unit/mm_fake
