# Guest page walker: every paging mode and page size, every combination of the permission
# bits and of CR0.WP/CR4.SMEP/SMAP/EFER.NXE/RFLAGS.AC against a reference model; reserved
# bits per MAXPHYADDR; Accessed/Dirty updates with a compare-exchange on simulated memory.
UNIT_TESTS += walk
walk_SRCS := tests/unit/test_walk.c hv/mmu/walk.c
