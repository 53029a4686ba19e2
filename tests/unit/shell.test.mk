UNIT_TESTS += shell
shell_SRCS := tests/unit/test_shell.c mgmt/shell.c mgmt/lineedit.c lib/cmdline.c lib/printf.c
