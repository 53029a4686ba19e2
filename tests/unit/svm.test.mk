# SVM backend logic: ASID generations against a TLB model, nested tables over fake guest
# memory and a fake page allocator, exit decoding / VMCB state / event and MSR encoding.
UNIT_TESTS += svm_asid svm_npt svm_exit
svm_asid_SRCS := tests/unit/test_svm_asid.c arch/x86/svm/svm_asid.c
svm_npt_SRCS := tests/unit/test_svm_npt.c arch/x86/svm/svm_npt.c
svm_exit_SRCS := tests/unit/test_svm_exit.c arch/x86/svm/svm_exit.c arch/x86/svm/svm_vmcb.c lib/printf.c
