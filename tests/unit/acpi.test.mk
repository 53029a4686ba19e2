UNIT_TESTS += acpi
acpi_SRCS := tests/unit/test_acpi.c arch/x86/acpi_tables.c lib/printf.c
