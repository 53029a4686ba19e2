#!/bin/sh
# Check the layering of DESIGN.md: a file may include headers of its own layer or
# lower ones only. Ranks (low to high):
#   0 lib   1 arch/x86 (incl. include/asm)   2 mm   3 kernel   4 drivers
#   5 hv, hv/*, arch/x86/vmx, arch/x86/svm   6 mgmt
# Allowed everywhere: kernel/log.h and kernel/panic.h (logging and stopping).
# kernel/main.c is the composition root and may include any layer.
rank_of() {
	case "$1" in
	lib/*) echo 0 ;;
	arch/x86/vmx/* | arch/x86/svm/*) echo 5 ;;
	arch/x86/*) echo 1 ;;
	asm/*) echo 1 ;;
	mm/*) echo 2 ;;
	kernel/*) echo 3 ;;
	drivers/*) echo 4 ;;
	hv/*) echo 5 ;;
	mgmt/*) echo 6 ;;
	*) echo -1 ;;
	esac
}
bad=0
for f in $(find lib arch mm kernel drivers hv mgmt -name '*.[ch]' 2>/dev/null); do
	[ "$f" = kernel/main.c ] && continue
	fr=$(rank_of "$f")
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case "$inc" in kernel/log.h | kernel/panic.h) continue ;; esac
		ir=$(rank_of "$inc")
		[ "$ir" = -1 ] && continue
		if [ "$ir" -gt "$fr" ]; then
			echo "layering: $f (layer $fr) includes $inc (layer $ir)" >&2
			bad=1
		fi
	done
done
[ $bad = 0 ] && echo "layering: ok"
exit $bad
