# x86 decoder: hand-checked cases, and lengths cross-checked against capstone.
UNIT_TESTS += decode decode_oracle
decode_SRCS := tests/unit/test_decode.c hv/decode.c hv/decode_tables.c lib/printf.c
decode_oracle_SRCS := tests/unit/test_decode_oracle.c tests/unit/test_decode_cs.c hv/decode.c hv/decode_tables.c lib/printf.c
decode_oracle_LIBS := -lcapstone
