UNIT_TESTS += lineedit
lineedit_SRCS := tests/unit/test_lineedit.c mgmt/lineedit.c
