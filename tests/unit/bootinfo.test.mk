UNIT_TESTS += bootinfo
bootinfo_SRCS := tests/unit/test_bootinfo.c arch/x86/bootinfo.c
