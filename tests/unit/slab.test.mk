UNIT_TESTS += slab
slab_SRCS := tests/unit/test_slab.c mm/slab.c
slab_CFLAGS := -iquote tests/unit/mm_fake
slab_LIBS := -lpthread
