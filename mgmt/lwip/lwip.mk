# lwIP 2.1.x from Debian's source package, built into the image (included by the Makefile).
# scripts/fetch-lwip.sh unpacks it into $(BUILD)/lwip on first use; it is never committed.
LWIP_DIR := $(BUILD)/lwip
LWIP_FETCHED := $(LWIP_DIR)/.fetched
LWIP_SRCS := $(addprefix $(LWIP_DIR)/src/, \
	core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c core/memp.c \
	core/netif.c core/pbuf.c core/sys.c core/tcp.c core/tcp_in.c core/tcp_out.c \
	core/timeouts.c core/udp.c \
	core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
	core/ipv4/ip4_addr.c \
	netif/ethernet.c)
LWIP_OBJS := $(LWIP_SRCS:$(LWIP_DIR)/src/%.c=$(BUILD)/obj/lwip/%.o)

# No libc headers: <string.h> and <stdlib.h> come from mgmt/lwip/, the rest from GCC.
LWIP_INC := -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-Imgmt/lwip -I$(LWIP_DIR)/src/include
LWIP_CFLAGS := $(filter-out -Wmissing-prototypes,$(CFLAGS)) $(LWIP_INC)

# The port and the telnet server see lwIP's headers too.
NET_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter mgmt/net% mgmt/telnet%,$(C_SRCS)))
$(NET_OBJS): CFLAGS += $(LWIP_INC)
$(NET_OBJS): | $(LWIP_FETCHED)

OBJS += $(LWIP_OBJS)

$(LWIP_FETCHED):
	@scripts/fetch-lwip.sh $(LWIP_DIR)
	@touch $@

$(LWIP_SRCS): | $(LWIP_FETCHED)
	@test -f $@ || { echo "lwip: $@ is missing; remove $(LWIP_DIR) to fetch again" >&2; exit 1; }

$(BUILD)/obj/lwip/%.o: $(LWIP_DIR)/src/%.c | $(LWIP_FETCHED)
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$*.c"
	@$(CC) $(LWIP_CFLAGS) -c $< -o $@

.PHONY: lwip
lwip: $(LWIP_OBJS)
