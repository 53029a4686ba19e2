# `make bench`: benchmarks (figures printed, nothing asserted; not part of `make test`).
# Shadow MMU: pgswitch with the shadow cache on and off under QEMU -icount (exact TSC).
.PHONY: bench-shadow
bench: bench-shadow
bench-shadow: deps-test $(BUILD)/hv.elf guests
	HV_BUILD=$(abspath $(BUILD)) QEMU=$(QEMU) /usr/bin/python3 tests/bench/shadow_bench.py
