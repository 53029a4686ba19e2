/* Counters kept by the host-test stand-ins of test_vdev_stubs.c. */
#ifndef HV_TESTS_UNIT_TEST_VDEV_STUBS_H
#define HV_TESTS_UNIT_TEST_VDEV_STUBS_H

extern int vdev_stub_live_allocs;  /* kmalloc'd blocks not yet freed */
extern int vdev_stub_wakeups;      /* wake_up_all calls */
extern char vdev_stub_last_log[512];

#endif
