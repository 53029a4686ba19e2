#!/bin/sh
# Fetch lwIP 2.1.x from Debian's source package and unpack it (never committed).
# Usage: fetch-lwip.sh DEST   (e.g. build/lwip; DEST/src/core/tcp.c exists afterwards)
# As root it adds a deb-src entry for bookworm main when apt has none, and runs
# apt-get update; otherwise it says what to do and fails.
set -e
dest=${1:?usage: fetch-lwip.sh DEST}
want_version=2.1
src_list=/etc/apt/sources.list.d/hv-lwip-deb-src.sources

[ -f "$dest/src/core/tcp.c" ] && exit 0

fail() {
	echo "fetch-lwip: $*" >&2
	exit 1
}

have_deb_src() {
	grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

command -v apt-get >/dev/null || fail "apt-get not found: lwIP comes from Debian's source package 'lwip' ($want_version.x)"
command -v xz >/dev/null || fail "xz not found: run 'apt-get install xz-utils' as root"

if ! have_deb_src; then
	[ "$(id -u)" = 0 ] || fail "apt has no deb-src entry; as root, add one for bookworm main
  (e.g. $src_list) and run 'apt-get update', or run 'make' once as root"
	echo "fetch-lwip: adding $src_list (deb-src, bookworm main)"
	cat >"$src_list" <<'EOF'
# Added by hv's scripts/fetch-lwip.sh: source packages (lwIP for the management network).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update -qq >/dev/null || fail "apt-get update failed"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
echo "fetch-lwip: apt-get source --download-only lwip"
if ! apt-get source -qq --download-only lwip >apt.log 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		# The deb-src entry may be new to apt's lists: update once and retry.
		apt-get update -qq >/dev/null 2>&1 || true
		apt-get source -qq --download-only lwip >apt.log 2>&1 ||
			{ cat apt.log >&2; fail "apt-get source lwip failed"; }
	else
		cat apt.log >&2
		fail "apt-get source lwip failed (as root: apt-get update, then retry)"
	fi
fi
orig=$(ls lwip_*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$orig" ] || fail "no lwip_*.orig.tar.* in the source package"
version=$(echo "$orig" | sed -n 's/^lwip_\([0-9.]*\).*/\1/p')
case "$version" in
"$want_version".*) ;;
*) fail "Debian's lwip is version '$version'; hv's port is written for $want_version.x" ;;
esac
mkdir unpack
tar -xf "$orig" -C unpack
top=$(ls unpack)
[ -f "unpack/$top/src/core/tcp.c" ] || fail "unexpected layout in $orig"
cd - >/dev/null
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/unpack/$top" "$dest"
echo "fetch-lwip: lwIP $version in $dest"
