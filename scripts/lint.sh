#!/bin/sh
# make lint: static analysis of the kernel files the series touches, on the
# debug configuration: sparse (C=2) and gcc's W=1 warnings on the objects,
# and kernel-doc -Wall on the sources.  A warning counts when the base tree
# does not have it: each is compared, without its line and column, with
# lint/base-warnings.txt, which LINT_BASE=1 writes from the base tree (tag
# "base") for the same files.  Coccinelle's reports (MODE=report) on the
# files the series adds are shown, and fail the run, unless
# lint/cocci-allow lists them.
# Output: build/lint/new-warnings.txt; exit 1 when it is not empty.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
out=$top/build/lint
mkdir -p "$out"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}" CCACHE_BASEDIR="$top" CCACHE_NOHASHDIR=1

tree=$top/build/linux
obj=$top/build/obj-lint
if [ "${LINT_BASE:-0}" = 1 ]; then
	tree=$top/build/linux-base
	obj=$top/build/obj-lint-base
	[ -d "$tree" ] || git -C build/linux worktree add -q --detach "$tree" base
	git -C "$tree" checkout -q --detach base
fi
[ -f build/obj-debug/.config ] || die "no debug configuration: run 'make kernel-debug'"

# The series' files: C sources the debug kernel builds, and every source
# and header for kernel-doc (tools/ and Documentation/ are not kernel code).
files=$(git -C build/linux diff --name-only base..HEAD -- '*.c' '*.h' |
	grep -vE '^(tools|Documentation)/' || true)
objs=
for f in $files; do
	case "$f" in *.c) ;; *) continue ;; esac
	[ -f "build/obj-debug/${f%.c}.o" ] && objs="$objs ${f%.c}.o"
done

# A tree of its own, so that W=1 objects never mix with the debug kernel's.
mkdir -p "$obj"
cp build/obj-debug/.config "$obj/.config"
make -s -C "$tree" O="$obj" CC="ccache gcc" olddefconfig >/dev/null

raw=$out/raw-$(basename "$obj").txt
: >"$raw"
for o in $objs; do
	[ -f "$tree/${o%.o}.c" ] || continue
	# Rebuild even when up to date: the warnings are what we want.
	rm -f "$obj/$o"
	make -s -C "$tree" O="$obj" CC="ccache gcc" C=2 W=1 -j"$(nproc)" \
		"$o" >>"$raw" 2>&1 || echo "$o: error: the build failed" >>"$raw"
done
for f in $files; do
	[ -f "$tree/$f" ] || continue
	(cd "$tree" && scripts/kernel-doc -none -Wall "$f") >>"$raw" 2>&1 || true
done

# "path:line:col: warning: text" -> "path: warning: text", sorted, with
# repeats kept (comm compares them one for one).
normalize() {
	sed -nE 's#^(\./)?([^: ]+):[0-9]+(:[0-9]+)?: (warning|error|note)#\2: \4#p' "$1" |
		sed "s#^$tree/##; s#^$obj/##" | LC_ALL=C sort
}

if [ "${LINT_BASE:-0}" = 1 ]; then
	mkdir -p lint
	normalize "$raw" >lint/base-warnings.txt
	echo "wrote lint/base-warnings.txt ($(wc -l <lint/base-warnings.txt) warnings of the base)"
	exit 0
fi

[ -f lint/base-warnings.txt ] || die "no lint/base-warnings.txt: run 'LINT_BASE=1 make lint'"
normalize "$raw" >"$out/warnings.txt"
LC_ALL=C comm -13 lint/base-warnings.txt "$out/warnings.txt" >"$out/new-warnings.txt"

# Coccinelle on the files the series adds (the rest is the base's code).
added=$(git -C build/linux diff --name-only --diff-filter=A base..HEAD -- '*.c' |
	grep -vE '^(tools|Documentation)/' || true)
cocci=$out/cocci.txt
: >"$cocci"
for f in $added; do
	[ -f "build/obj-debug/${f%.c}.o" ] || continue
	make -s -C "$tree" O="$obj" C=2 CHECK="$tree/scripts/coccicheck" MODE=report \
		"${f%.c}.o" 2>&1 | grep -E '^[^ ]+:[0-9]+:' >>"$cocci" || true
done
if [ -f lint/cocci-allow ]; then
	grep -vFf lint/cocci-allow "$cocci" >>"$out/new-warnings.txt" || true
else
	cat "$cocci" >>"$out/new-warnings.txt"
fi

echo "lint: $(echo $objs | wc -w) objects (sparse, W=1), $(echo $files | wc -w) files (kernel-doc), $(echo $added | wc -w) added (coccinelle)"
if [ -s "$out/new-warnings.txt" ]; then
	echo "lint: new warnings (not in the base):"
	cat "$out/new-warnings.txt"
	exit 1
fi
echo "lint: no new warnings"
