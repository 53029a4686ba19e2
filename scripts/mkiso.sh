#!/bin/sh
# Build a GRUB rescue ISO.  Usage: mkiso.sh out.iso grub.cfg hv.elf [module files...]
# Module files are copied to /boot/ in the image under their base names.
set -e
out=$1 cfg=$2 elf=$3
shift 3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$cfg" "$dir/boot/grub/grub.cfg"
cp "$elf" "$dir/boot/hv.elf"
for m in "$@"; do cp "$m" "$dir/boot/"; done
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1 || {
	echo "mkiso: grub-mkrescue failed:" >&2
	grub-mkrescue -o "$out" "$dir"
	exit 1
}
