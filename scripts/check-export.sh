#!/bin/sh
# Fail when patches/ does not reproduce build/linux's commits above base.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$top"/patches/0000-cover-letter.patch "$tmp/" 2>/dev/null || true
"$top/scripts/export.sh" "$tmp" >/dev/null
if ! diff -r -x '.*' "$top/patches" "$tmp" >"$tmp.diff" 2>&1; then
	head -40 "$tmp.diff"
	echo "patches/ differs from build/linux: run 'make export'" >&2
	rm -f "$tmp.diff"
	exit 1
fi
rm -f "$tmp.diff"
echo "patches/ reproduces build/linux"
