# Shadow MMU core on simulated memory: a simulated CPU walks the shadow tables (and keeps a
# TLB flushed only when asked); every access compared with a reference walk of the guest
# tables; audit after every step. Write protection, emulated entry writes, long reverse-map
# chains, reclaim under a tiny budget, root reuse across CR3 switches, INVLPG, CR checks.
UNIT_TESTS += shadow
shadow_SRCS := tests/unit/test_shadow.c hv/mmu/shadow_page.c hv/mmu/shadow_mmu.c \
	hv/mmu/shadow_fill.c hv/mmu/shadow_audit.c hv/mmu/walk.c hv/mmu/gmem.c lib/printf.c
shadow_CFLAGS := -iquote tests/unit/mm_fake
