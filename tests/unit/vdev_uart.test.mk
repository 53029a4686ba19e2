# Virtual 16550 UART (hv/dev/vuart.c) with host stand-ins for the heap and wait queues.
UNIT_TESTS += vdev_uart
vdev_uart_SRCS := tests/unit/test_vuart.c tests/unit/test_vdev_stubs.c hv/dev/vuart.c hv/iobus.c
vdev_uart_CFLAGS := -iquote tests/unit/mm_fake
