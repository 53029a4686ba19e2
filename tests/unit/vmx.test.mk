# VMX backend logic: controls from allowed-0/1 capability MSRs, EPT over fake guest memory,
# exit decoding tables, VMCS contents on a software VMCS, and the compile-time width checks
# of the VMCS accessors (each wrong-width use in vmx_width_bad.c must fail to compile).
UNIT_TESTS += vmx_caps vmx_ept vmx_exit vmx_vmcs
vmx_caps_SRCS := tests/unit/test_vmx_caps.c arch/x86/vmx/vmx_caps.c lib/printf.c
vmx_ept_SRCS := tests/unit/test_vmx_ept.c arch/x86/vmx/vmx_ept.c
vmx_exit_SRCS := tests/unit/test_vmx_exit.c arch/x86/vmx/vmx_exit.c
vmx_vmcs_SRCS := tests/unit/test_vmx_vmcs.c tests/unit/vmx_fake_vmcs.c tests/unit/vmx_fields.c \
	arch/x86/vmx/vmx_vmcs.c arch/x86/vmx/vmx_check.c arch/x86/vmx/vmx_caps.c lib/printf.c

VMX_WIDTH_BAD_CASES := 1 2 3 4 5 6 7 8
$(BUILD)/unit/vmx_width_checks.stamp: tests/unit/vmx_width_bad.c arch/x86/vmx/vmx_ops.h \
		arch/x86/include/asm/vmx.h
	@mkdir -p $(dir $@)
	@$(HOSTCC) $(UNIT_CFLAGS) -fsyntax-only -DCASE=0 $< || \
		{ echo "vmx_width_bad.c: the correct uses (CASE=0) do not compile" >&2; exit 1; }
	@for c in $(VMX_WIDTH_BAD_CASES); do \
		if $(HOSTCC) $(UNIT_CFLAGS) -fsyntax-only -DCASE=$$c $< 2>/dev/null; then \
			echo "vmx_width_bad.c: wrong-width VMCS access CASE=$$c compiled" >&2; exit 1; \
		fi; \
	done
	@touch $@
$(BUILD)/unit/vmx_vmcs: $(BUILD)/unit/vmx_width_checks.stamp
