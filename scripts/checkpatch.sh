#!/bin/sh
# checkpatch.pl --strict on every patch of the series; non-zero on any report.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
[ -x "$top/build/linux/scripts/checkpatch.pl" ] || die "no kernel tree: run 'make tree'"
# checkpatch's spdxcheck.py wants Debian's python3 (python3-ply, python3-git).
export PATH="/usr/bin:$PATH"
# From inside the tree: --strict learns its CamelCase names from its headers.
cd "$top/build/linux"
rc=0
for p in "$top"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$p" ] || continue
	case "$p" in */0000-*) continue ;; esac
	if out=$("$top/build/linux/scripts/checkpatch.pl" --strict -q \
		--root="$top/build/linux" "$p" 2>&1); then
		echo "clean: $(basename "$p")"
	else
		printf 'REPORTS: %s\n%s\n' "$(basename "$p")" "$out"
		rc=1
	fi
done
exit $rc
