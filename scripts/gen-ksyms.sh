#!/bin/sh
# Emit a nasm source with the text symbols of an ELF image, for symbolized stack traces.
# Usage: gen-ksyms.sh [image.elf] > ksyms.asm   (no image: an empty table)
set -e
echo 'section .ksyms'
echo 'global ksyms_count, ksyms_table, ksyms_names'
echo 'align 8'
if [ -z "$1" ]; then
	echo 'ksyms_count: dq 0'
	echo 'ksyms_table:'
	echo 'ksyms_names: db 0'
	exit 0
fi
nm -n --defined-only "$1" | awk '
	$2 ~ /^[tT]$/ && $1 ~ /^ffffffff8/ { addr[n] = $1; name[n] = $3; n++ }
	END {
		printf "ksyms_count: dq %d\n", n
		printf "ksyms_table:\n"
		off = 0
		for (i = 0; i < n; i++) {
			printf "\tdq 0x%s, %d\n", addr[i], off
			off += length(name[i]) + 1
		}
		printf "ksyms_names:\n"
		for (i = 0; i < n; i++)
			printf "\tdb \"%s\", 0\n", name[i]
	}'
