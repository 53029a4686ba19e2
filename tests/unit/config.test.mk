# VM configuration parser: good files, each malformed case, random mutations.
UNIT_TESTS += config
config_SRCS := tests/unit/test_config.c hv/config.c lib/cmdline.c lib/printf.c
