UNIT_TESTS += gmem
gmem_SRCS := tests/unit/test_gmem.c hv/mmu/gmem.c
