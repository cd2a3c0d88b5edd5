#!/bin/sh
# make fuzz [SECONDS=600] [SEED=n] [INJECT=1]: the randomized exerciser
# (tests/fuzz/uffd-fuzz.c) on the debug kernel for as long as asked, then
# the kmemleak scan.  The guest runs a program for 20 minutes at most, so
# a long run is cut into runs of 15 minutes at most, seeds SEED, SEED+1...
# (each replayable alone with uffd-fuzz -s).  INJECT=1 adds -i (allocation
# failures on its userfaultfd calls).  Log: build/logs/fuzz.log.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
secs=${SECONDS:-600}
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
inject=
[ "${INJECT:-0}" = 1 ] && inject=-i
case "$secs$seed" in *[!0-9]*) die "SECONDS and SEED are numbers" ;; esac
mkdir -p build/plans
plan=build/plans/fuzz.plan
: >"$plan"
left=$secs
while [ "$left" -gt 0 ]; do
	t=$((left < 900 ? left : 900))
	echo "uffd-fuzz | tests/fuzz/uffd-fuzz.c | -s $seed -t $t -n 100000000 $inject" >>"$plan"
	seed=$((seed + 1))
	left=$((left - t))
done
cat tests/plans/leak.plan >>"$plan"
echo "fuzz: $secs s from seed ${SEED:-(random)}:"
grep uffd-fuzz "$plan" | sed 's/.*| /  uffd-fuzz /'
GUEST_TIMEOUT=$((secs + 900)) "$top/scripts/run-plan.sh" "$plan"
