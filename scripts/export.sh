#!/bin/sh
# Write the commits above the base preparation in build/linux as a patch
# series into DIR (default patches/), deterministically.  The cover letter's
# subject and text are kept; its patch count, shortlog and diffstat are
# regenerated.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
out=${1:-$top/patches}
tree=$top/build/linux
cover=$top/patches/0000-cover-letter.patch
[ -d "$tree/.git" ] || die "no kernel tree: run 'make tree'"
# The cover letter's subject and text, read before the old series goes.
subject="userfaultfd: page faults handled by user space"
text=
if [ -f "$cover" ]; then
	subject=$(sed -n 's/^Subject: \[PATCH [0-9]*\/[0-9]*\] //p' "$cover" | head -1)
	text=$(awk 'body && /^-- $/ { exit } body { print } /^$/ && !body { body = 1 }' "$cover")
fi
cd "$tree"
n=$(git rev-list --count base..HEAD)
mkdir -p "$out"
rm -f "$out"/[0-9][0-9][0-9][0-9]-*.patch
[ "$n" -gt 0 ] || { echo "no commits above base: empty series"; exit 0; }
git format-patch -q --numbered --zero-commit --no-signature --stat=72 \
	--stat-graph-width=20 -o "$out" base..HEAD

# Cover letter: headers, the kept text, then shortlog and diffstat.
{
	echo "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001"
	echo "From: $(git log -1 --format='%an <%ae>' HEAD)"
	echo "Date: $(git log -1 --format='%aD' HEAD)"
	echo "Subject: [PATCH 0/$n] $subject"
	echo
	printf '%s\n' "$text"
	echo "-- "
	git shortlog base..HEAD
	git diff --stat=72 --summary base..HEAD
} >"$out/0000-cover-letter.patch.new"
mv "$out/0000-cover-letter.patch.new" "$out/0000-cover-letter.patch"
echo "exported $n patches to $out"
