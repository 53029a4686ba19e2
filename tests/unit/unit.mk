# Host unit tests: each tests/unit/<name>.test.mk adds <name> to UNIT_TESTS and
# sets <name>_SRCS (the test file plus the hypervisor sources it exercises).
# Built with AddressSanitizer and UBSan, linked with cmocka.
UNIT_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter \
	-I. -Iarch/x86/include -DHV_HOST_TEST
UNIT_TESTS :=
include $(sort $(wildcard tests/unit/*.test.mk))
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/unit/%)

define unit_rule
$(BUILD)/unit/$(1): $$($(1)_SRCS) $$(wildcard tests/unit/*.h) | deps-test
	@mkdir -p $$(dir $$@)
	$(HOSTCC) $(UNIT_CFLAGS) $$($(1)_CFLAGS) $$($(1)_SRCS) -o $$@ -lcmocka $$($(1)_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: unit
unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	if [ $$fail = 0 ]; then echo "unit: all passed"; else echo "unit: FAILED"; exit 1; fi
