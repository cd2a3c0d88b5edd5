#!/bin/sh
# Every patch of the series on its own: check out each commit above base in
# build/linux, build the debug kernel (incrementally) and boot it on the
# smoke plan.  Returns build/linux to where it was.  Patches before the one
# that adds CONFIG_USERFAULTFD build in build/obj-base-debug.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
tree=$top/build/linux
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes"
head=$(git -C "$tree" symbolic-ref -q --short HEAD || git -C "$tree" rev-parse HEAD)
trap 'git -C "$tree" checkout -q "$head"' EXIT
mkdir -p "$top/build/plans"
cp "$top/tests/plans/smoke.plan" "$top/build/plans/bisect.plan"
for c in $(git -C "$tree" rev-list --reverse base..HEAD); do
	echo "== $(git -C "$tree" log -1 --format='%h %s' "$c")"
	git -C "$tree" checkout -q "$c"
	# Before the patch that adds CONFIG_USERFAULTFD, build like the base.
	kind=debug
	grep -q '^config USERFAULTFD$' "$tree/mm/Kconfig" || kind=base-debug
	"$top/scripts/configure.sh" $kind >/dev/null
	"$top/scripts/build-kernel.sh" $kind >"$top/build/logs/bisect-build.log" 2>&1 ||
		{ tail -20 "$top/build/logs/bisect-build.log"; die "does not build: $c"; }
	"$top/scripts/run-plan.sh" "$top/build/plans/bisect.plan" | tail -1
done
