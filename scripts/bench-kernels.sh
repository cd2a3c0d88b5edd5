#!/bin/sh
# The two kernels that make bench and make icount compare: ours (the guest
# kernel, build/bzImage-guest) and upstream 6.1 (the pristine tree, tag
# "pristine", with our guest configuration and CONFIG_USERFAULTFD=y, built
# in build/obj-upstream-guest: build/bzImage-upstream-guest).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
S=$top/scripts
cd "$top"
mkdir -p build/logs

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
