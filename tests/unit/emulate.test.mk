# x86 emulator: every form checked against the host CPU running the same instruction
# (x86-64 hosts), and edge cases (faults, REP budget, random bytes) on simulated memory.
UNIT_TESTS += emulate emulate_edge
emulate_SRCS := tests/unit/test_emulate.c tests/unit/test_emulate_native.c hv/emulate.c hv/decode.c \
	hv/decode_tables.c lib/printf.c
emulate_edge_SRCS := tests/unit/test_emulate_edge.c hv/emulate.c hv/decode.c hv/decode_tables.c \
	lib/printf.c
