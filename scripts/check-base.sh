#!/bin/sh
# Checks of the prepared base (tag "base" in build/linux): no userfaultfd is
# left, it builds with the guest and the debug configurations, and on the
# debug kernel syscall 323 is ENOSYS and the base's mm selftests pass.
# PRISTINE=1 also runs the mm selftests on the pristine kernel and compares.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
S=$top/scripts
cd "$top"

echo "== grep: nothing of userfaultfd outside base/grep-allow"
excl=$(grep -v '^#' base/grep-allow | sed "s|^|:!|")
hits=$(git -C build/linux grep -inE 'userfault|uffd' base -- . $excl || true)
[ -z "$hits" ] || { printf '%s\n' "$hits" | head -40; die "userfaultfd left in the base"; }
echo "none"

# Build the base commit itself: build/linux when it is at base, else a
# worktree of it.
if [ "$(git -C build/linux rev-parse HEAD)" = "$(git -C build/linux rev-parse base)" ]; then
	export KTREE=$top/build/linux
else
	export KTREE=$top/build/linux-base
	[ -d "$KTREE" ] || git -C build/linux worktree add -q --detach "$KTREE" base
	git -C "$KTREE" checkout -q --detach base
fi
for kind in base-guest base-debug; do
	echo "== build: $kind"
	"$S/configure.sh" $kind
	"$S/build-kernel.sh" $kind
done
mkdir -p build/plans
cat tests/plans/base.plan tests/plans/mm.plan >build/plans/base.plan
"$S/run-plan.sh" build/plans/base.plan

if [ "${PRISTINE:-0}" = 1 ]; then
	export KTREE=$top/build/linux-pristine
	[ -d "$KTREE" ] || git -C build/linux worktree add -q --detach "$KTREE" pristine
	"$S/configure.sh" pristine-debug
	"$S/build-kernel.sh" pristine-debug
	cp tests/plans/mm.plan build/plans/pristine.plan
	"$S/run-plan.sh" build/plans/pristine.plan || true
	echo "== mm selftests: pristine vs prepared (name: pristine / prepared)"
	res() { sed -n 's/^\(not ok\|ok\) [0-9]* \([^ ]*\).*/\2 \1/p' "$1" | tr -d '\r' | sort; }
	res build/logs/pristine.log >build/logs/pristine.res
	res build/logs/base.log | grep -v '^nosys ' >build/logs/base.res
	join build/logs/pristine.res build/logs/base.res | sed 's/^/  /'
	diff build/logs/pristine.res build/logs/base.res || die "mm results differ"
	echo "same results"
fi
