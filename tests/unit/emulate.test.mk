# x86 emulator checked against the host CPU running the same instructions (x86-64 hosts).
UNIT_TESTS += emulate
emulate_SRCS := tests/unit/test_emulate.c tests/unit/test_emulate_native.c hv/emulate.c hv/decode.c \
	hv/decode_tables.c lib/printf.c
