#!/bin/sh
# Remove the in-tree userfaultfd from a pristine 6.1 tree (argument: the tree,
# a git repository), as commits of its own below our series: whole files are
# deleted here by name, the in-file removals come from base/*.patch.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$1"
grep -v '^#' "$top/base/deleted-files" | xargs git rm -q --
git commit -q -m "mm: delete the userfaultfd files from the base tree

Our series adds its own userfaultfd; the in-tree one goes first.
This commit only deletes whole files; base/*.patch removes the rest." \
	--author="uffd team <uffd@localhost>"
for p in "$top"/base/[0-9][0-9][0-9][0-9]-*.patch; do
	git am -q "$p" || {
		git am --abort || true
		die "base preparation does not apply: base/$(basename "$p")"
	}
done
