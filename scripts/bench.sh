#!/bin/sh
# make bench: our userfaultfd against upstream 6.1's, in one run.
# Upstream is the pristine tree (tag "pristine") with our guest
# configuration and CONFIG_USERFAULTFD=y, built in build/obj-upstream-guest;
# ours is the guest kernel.  Both boot the same initramfs under the same
# QEMU settings (GUEST_CPUS vCPUs, default 2), interleaved (ABAB),
# BENCH_REPS times each (default 5);
# scripts/bench-report.sh turns the logs into build/bench/results.md and
# build/bench/faults-vs-threads.png.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
S=$top/scripts
reps=${BENCH_REPS:-5}
out=$top/build/bench
cd "$top"

"$S/bench-kernels.sh"

echo "== programs"
mkdir -p build/plans
cp tests/plans/bench.plan build/plans/bench.plan
"$S/build-tests.sh" build/plans/bench.plan
"$S/mkinitramfs.sh" build/plans/bench.plan

rm -rf "$out/logs"
mkdir -p "$out/logs"
i=1
while [ "$i" -le "$reps" ]; do
	for k in upstream ours; do
		echo "== run $i/$reps: $k"
		kind=guest
		[ "$k" = ours ] || kind=upstream-guest
		use_kernel "$kind"
		"$S/run-guest.sh" build/plans/bench.plan >/dev/null
		cp build/logs/bench.log "$out/logs/$k-$i.log"
		"$S/report.sh" "$out/logs/$k-$i.log" | tail -1
	done
	i=$((i + 1))
done
"$S/bench-report.sh" "$out/logs" "$out"
cat "$out/results.md"
