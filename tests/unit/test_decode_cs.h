/* Capstone oracle used by the decoder tests (host only). */
#ifndef HV_TESTS_UNIT_TEST_DECODE_CS_H
#define HV_TESTS_UNIT_TEST_DECODE_CS_H

#include <stddef.h>
#include <stdint.h>

int cs_oracle_open(void);
void cs_oracle_close(void);
/* Length of the instruction at b in a 16/32/64-bit mode, or -1 if capstone refuses it. */
int cs_oracle_length(int mode, const uint8_t *b, size_t n, char *text, size_t text_size);

#endif
