# Test device and debug-exit port (hv/dev/testdev.c, hv/dev/debugexit.c) on real buses (hv/iobus.c).
UNIT_TESTS += vdev_testdev
vdev_testdev_SRCS := tests/unit/test_vtestdev.c tests/unit/test_vdev_stubs.c hv/dev/testdev.c \
	hv/dev/debugexit.c hv/iobus.c
vdev_testdev_CFLAGS := -iquote tests/unit/mm_fake
