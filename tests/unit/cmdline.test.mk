UNIT_TESTS += cmdline
cmdline_SRCS := tests/unit/test_cmdline.c lib/cmdline.c
