UNIT_TESTS += buddy
buddy_SRCS := tests/unit/test_buddy.c mm/buddy.c mm/range.c mm/frame.c
buddy_CFLAGS := -iquote tests/unit/mm_fake
