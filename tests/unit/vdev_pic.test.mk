# Virtual dual 8259A (hv/dev/vpic.c), driven through a real port bus (hv/iobus.c).
UNIT_TESTS += vdev_pic
vdev_pic_SRCS := tests/unit/test_vpic.c tests/unit/test_vdev_stubs.c hv/dev/vpic.c hv/iobus.c
vdev_pic_CFLAGS := -iquote tests/unit/mm_fake
