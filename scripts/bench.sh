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

# Configured every time (as check-base and check-bisect do): a changed
# fragment must reach both kernels, and an unchanged one rebuilds nothing.
echo "== build: ours (guest)"
"$S/configure.sh" guest >/dev/null
"$S/build-kernel.sh" guest >build/logs/bench-build-ours.log 2>&1 ||
	{ tail -20 build/logs/bench-build-ours.log; die "building our kernel"; }

echo "== build: upstream 6.1 (pristine tree + CONFIG_USERFAULTFD)"
pristine=$top/build/linux-pristine
[ -d "$pristine" ] ||
	git -C build/linux worktree add -q --detach "$pristine" pristine
KTREE=$pristine "$S/configure.sh" upstream-guest >/dev/null
KTREE=$pristine "$S/build-kernel.sh" upstream-guest \
	>build/logs/bench-build-upstream.log 2>&1 ||
	{ tail -20 build/logs/bench-build-upstream.log; die "building upstream"; }

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
		cp "build/bzImage-$kind" build/bzImage
		echo "$kind" >build/kernel-kind
		"$S/run-guest.sh" build/plans/bench.plan >/dev/null
		cp build/logs/bench.log "$out/logs/$k-$i.log"
		"$S/report.sh" "$out/logs/$k-$i.log" | tail -1
	done
	i=$((i + 1))
done
"$S/bench-report.sh" "$out/logs" "$out"
cat "$out/results.md"
