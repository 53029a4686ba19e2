#!/bin/sh
# Make sure the Debian packages the build and the tests need are installed.
# As root: installs what is missing. Otherwise: prints the exact apt-get line and fails.
# Usage: deps.sh build|run|test
set -e
what=${1:-test}

build_pkgs="gcc make nasm binutils grub-pc-bin grub-common xorriso mtools xz-utils"
run_pkgs="qemu-system-x86"
test_pkgs="libcmocka-dev libcapstone-dev python3-pytest python3-pexpect bochs bochsbios bochs-sdl seabios"

case "$what" in
build) pkgs="$build_pkgs" ;;
run) pkgs="$build_pkgs $run_pkgs" ;;
test) pkgs="$build_pkgs $run_pkgs $test_pkgs" ;;
*) echo "usage: $0 build|run|test" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || true
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	echo "deps: done"
else
	echo "deps: missing Debian packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
