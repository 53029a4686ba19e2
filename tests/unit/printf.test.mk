UNIT_TESTS += printf
printf_SRCS := tests/unit/test_printf.c lib/printf.c
