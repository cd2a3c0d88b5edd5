#!/bin/sh
# Every patch of the series on its own: check out each commit above base in
# build/linux, build the debug kernel (incrementally) and boot it on the
# smoke plan.  Returns build/linux to where it was.  Patches before the one
# that adds CONFIG_USERFAULTFD build in build/obj-base-debug.  The console
# log of patch N is kept as build/logs/bisect-N.log; any failed boot fails
# the whole check, after every patch has had its turn.  BISECT_FROM=N
# starts at patch N and BISECT_TO=M stops after patch M (the patches left
# out are counted as not checked).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
tree=$top/build/linux
logs=$top/build/logs
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes"
head=$(git -C "$tree" symbolic-ref -q --short HEAD || git -C "$tree" rev-parse HEAD)
trap 'git -C "$tree" checkout -q "$head"' EXIT
mkdir -p "$top/build/plans"
cp "$top/tests/plans/smoke.plan" "$top/build/plans/bisect.plan"
n=0
bad=0
from=${BISECT_FROM:-1}
to=${BISECT_TO:-999999}
for c in $(git -C "$tree" rev-list --reverse base..HEAD); do
	n=$((n + 1))
	[ "$n" -ge "$from" ] || { echo "== $n: skipped (BISECT_FROM=$from)"; continue; }
	[ "$n" -le "$to" ] || { echo "== $n: skipped (BISECT_TO=$to)"; continue; }
	echo "== $n: $(git -C "$tree" log -1 --format='%h %s' "$c")"
	git -C "$tree" checkout -q "$c"
	# Before the patch that adds CONFIG_USERFAULTFD, build like the base.
	kind=debug
	grep -q '^config USERFAULTFD$' "$tree/mm/Kconfig" || kind=base-debug
	"$top/scripts/configure.sh" $kind >/dev/null
	"$top/scripts/build-kernel.sh" $kind >"$logs/bisect-build.log" 2>&1 ||
		{ tail -20 "$logs/bisect-build.log"; die "does not build: $c"; }
	"$top/scripts/run-plan.sh" "$top/build/plans/bisect.plan" \
		>"$logs/bisect-run.out" 2>&1 || bad=$((bad + 1))
	# The report's verdict lines and its summary.
	grep -E '^(kernel report|failed):|^[0-9]+ passed, ' "$logs/bisect-run.out" || true
	cp "$logs/bisect.log" "$logs/bisect-$n.log"
done
[ "$bad" -eq 0 ] || die "$bad of $n patches failed their boot (build/logs/bisect-N.log)"
[ "$to" -lt "$n" ] && n=$to
echo "patches $from to $n build and boot"
