UNIT_TESTS += telnet
telnet_SRCS := tests/unit/test_telnet.c mgmt/telnet_proto.c mgmt/lineedit.c
