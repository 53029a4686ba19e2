/* Symbol lookup for stack traces: binary search of the sorted text-symbol table. */
#include "lib/ksyms.h"

struct ksym {
	u64 addr;
	u64 name_off;
};

extern const u64 ksyms_count;
extern const struct ksym ksyms_table[];
extern const char ksyms_names[];
extern char _text[], _etext[];

const char *ksym_lookup(u64 addr, u64 *offset)
{
	u64 lo = 0, hi = ksyms_count;

	if (addr < (u64)_text || addr >= (u64)_etext || ksyms_count == 0)
		return NULL;
	/* Find the last entry with entry.addr <= addr. */
	while (hi - lo > 1) {
		u64 mid = lo + (hi - lo) / 2;

		if (ksyms_table[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksyms_table[lo].addr > addr)
		return NULL;
	if (offset)
		*offset = addr - ksyms_table[lo].addr;
	return ksyms_names + ksyms_table[lo].name_off;
}
