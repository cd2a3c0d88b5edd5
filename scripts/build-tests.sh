#!/bin/sh
# Build the guest programs of a test plan, static, against build/headers.
# Plan lines: name | sources (repo paths; linux/... is the kernel tree) | args
# .sh sources make a guest shell script, joined in the order given; a name
# ending in _32 is built as an i386 program (the guest runs it through
# IA32_EMULATION), as the kernel's selftests name theirs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
plan=$1
out=$top/build/guest/$(basename "$plan" .plan)/tests
[ -d "$top/build/headers/include" ] || die "no uapi headers: build the kernel first"
rm -rf "$out"
mkdir -p "$out"
grep -vE '^[[:space:]]*(#|$)' "$plan" | while IFS='|' read -r name srcs args; do
	name=$(echo $name)
	files=
	for s in $srcs; do
		case "$s" in
		linux/*) files="$files $top/build/linux/${s#linux/}" ;;
		*) files="$files $top/$s" ;;
		esac
	done
	case "$files" in
	*.sh)	# a guest shell script, run by busybox sh: its sources, in order
		echo "  COPY    $name"
		cat $files >"$out/$name"
		chmod 755 "$out/$name"
		continue ;;
	esac
	abi=
	case "$name" in *_32) abi=-m32 ;; esac
	echo "  CC      $name"
	gcc $abi -static -O2 -g -Wall \
		-I "$top/build/headers/include" \
		-I "$top/build/linux/tools/testing/selftests" \
		-I "$top/build/linux/tools/include" \
		-o "$out/$name" $files -lpthread -lrt -lm ||
		die "building $name"
done
