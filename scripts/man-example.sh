#!/bin/sh
# Extract the example program of userfaultfd(2) into FILE: the first
# .EX/.EE block after ".SS Program source" in the EXAMPLES section of
# man/man2/userfaultfd.2, with the man escapes it uses turned back into C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
[ $# -eq 1 ] || die "usage: $0 FILE"
page=$top/man/man2/userfaultfd.2
mkdir -p "$(dirname "$1")"
awk '
	/^\.SH / { examples = ($0 == ".SH EXAMPLES") }
	examples && /^\.SS Program source/ { source = 1; next }
	source && /^\.EX/ { inside = 1; next }
	inside && /^\.EE/ { found = 1; exit }
	inside { print }
	END { exit !found }
' "$page" >"$1.tmp" || {
	rm -f "$1.tmp"
	die "no program source in the EXAMPLES of $page"
}
# \e last, so that the backslash it leaves does not start another escape.
sed -e 's/\\&//g' -e 's/\\-/-/g' \
	-e "s/\\\\(aq/'/g" -e "s/\\\\\\[aq\\]/'/g" \
	-e 's/\\(dq/"/g' -e 's/\\\[dq\]/"/g' \
	-e 's/\\e/\\/g' "$1.tmp" >"$1"
rm -f "$1.tmp"
