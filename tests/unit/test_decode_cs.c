/* Capstone wrapper for the decoder oracle tests (own unit: capstone's x86.h clashes with hv/decode.h). */
#include <stdio.h>
#include <stdint.h>
#include <capstone/capstone.h>
#include "tests/unit/test_decode_cs.h"

static csh cs_handle[3];
static cs_insn *cs_buf;

int cs_oracle_open(void)
{
	static const cs_mode cm[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };

	for (int i = 0; i < 3; i++) {
		if (cs_open(CS_ARCH_X86, cm[i], &cs_handle[i]) != CS_ERR_OK)
			return -1;
	}
	cs_buf = cs_malloc(cs_handle[0]);
	return cs_buf ? 0 : -1;
}

void cs_oracle_close(void)
{
	cs_free(cs_buf, 1);
	for (int i = 0; i < 3; i++)
		cs_close(&cs_handle[i]);
}

int cs_oracle_length(int mode, const uint8_t *b, size_t n, char *text, size_t text_size)
{
	int mi = mode == 16 ? 0 : mode == 32 ? 1 : 2;
	const uint8_t *code = b;
	size_t size = n;
	uint64_t addr = 0x1000;

	if (!cs_disasm_iter(cs_handle[mi], &code, &size, &addr, cs_buf))
		return -1;
	if (text)
		snprintf(text, text_size, "%s %s", cs_buf->mnemonic, cs_buf->op_str);
	return cs_buf->size;
}
