# Multiboot v1 guest loader: ELF32/ELF64/a.out-kludge images into malloc'd guest RAM.
UNIT_TESTS += mbload
mbload_SRCS := tests/unit/test_mbload.c hv/load/multiboot.c hv/mmu/gmem.c lib/printf.c
