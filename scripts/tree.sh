#!/bin/sh
# (Re)create build/linux: pristine 6.1 tree, base preparation, then our series.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
tarball=/usr/src/linux-source-6.1.tar.xz
tree=$top/build/linux

[ -r "$tarball" ] || die "$tarball not found: run 'make deps' (package linux-source-6.1)"
have=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
want=$(cat "$top/base/VERSION")
case "$have" in
"$want"-*) ;;
*) echo "NOTE: linux-source-6.1 is $have, this project was made against $want;" \
	"the base preparation or the series may not apply" >&2 ;;
esac

rm -rf "$tree"
mkdir -p "$tree"
echo "extracting $tarball"
tar xf "$tarball" -C "$tree" --strip-components=1
cd "$tree"
git init -q -b master .
git config user.name "uffd team"
git config user.email "uffd@localhost"
git config core.autocrlf false
# The tarball carries no .gitignore for what Debian adds; the kernel's own are enough.
git add -A -f .
git commit -q -m "Linux $(make -s kernelversion) (Debian linux-source-6.1 $have)"
git tag pristine
# Debian's .gitignore ignores the whole top level (its packaging repository
# tracks only debian/); drop that block so that git sees our changes.
sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' .gitignore
sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' .gitignore
sed -i '${/^#$/d}' .gitignore
git commit -q -a -m "gitignore: track the top level of the tree" \
	-m "Debian's packaging ignores everything at the top level; we do not."

"$top/scripts/prepare-base.sh" "$tree"
git tag base

n=0
for p in "$top"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$p" ] || continue
	case "$p" in */0000-*) continue ;; esac
	git am -q --keep-cr "$p" || {
		git am --abort || true
		die "patch does not apply: patches/$(basename "$p")"
	}
	n=$((n + 1))
done
echo "tree ready: build/linux at $(git describe --always --tags) ($n patches on top of base)"
