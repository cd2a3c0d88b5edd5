#!/bin/sh
# qemu-postcopy (guest side): QEMU's postcopy live migration on this kernel,
# or another of the QEMU tests in tests/qemu (--script=snapshot.py: a
# background snapshot).
#
# The guest has the host's root read-only at /host (see README, "The
# guest"): it has qemu-system-x86_64, python3, binutils and this repository.
# Make a chroot of it usable (proc, sys, dev, a writable run), run
# tests/qemu/postcopy.py (or NAME) there, undo the mounts and pass its
# status on (0 pass, 1 fail, 4 skip).
#
# Usage: postcopy.sh [--repo=DIR] [--script=NAME] [script options]
#   --repo=DIR     the repository's path on the host (default: what the
#                  harness wrote to /etc/repo)
#   --script=NAME  the Python script to run, a file name in tests/qemu
#                  (default postcopy.py)
# These two come first, in either order.
# HOSTROOT (default /host) names the host's root, for trying this out
# elsewhere.  The mount helpers come from tests/lib/hostroot.sh, which the
# harness puts in front of this script.

repo=$(cat /etc/repo 2>/dev/null || echo /work/main)
name=postcopy.py
for _arg in 1 2; do
	case "${1:-}" in
	--repo=*) repo=${1#--repo=}; shift ;;
	--script=*) name=${1#--script=}; shift ;;
	esac
done
case "$name" in
"" | */* | . | ..)
	echo "FAIL: --script=$name: want a file name in tests/qemu"
	exit 1
	;;
esac
script=$repo/tests/qemu/$name

skip() { echo "SKIP: $*"; exit 4; }
[ -d "$root/usr" ] || skip "no host root at $root"
[ -x "$root/usr/bin/qemu-system-x86_64" ] ||
	skip "no qemu-system-x86_64 in $root"
[ -x "$root/usr/bin/python3" ] || skip "no python3 in $root"
if [ ! -f "$root$script" ]; then
	echo "FAIL: no $script in $root (give the repository with --repo=DIR)"
	exit 1
fi

mnt /proc -t proc proc
mnt /sys -t sysfs sys
mnt /dev -o bind /dev
# Writable space is a tmpfs on /run, not on /tmp: the repository itself may
# live under the host's /tmp (a CI clone).
mnt /run -t tmpfs -o mode=755 run
# QEMU itself does not need it; glibc's shm_open() would.
if mkdir -p /dev/shm 2>/dev/null && [ -d "$root/dev/shm" ]; then
	mnt /dev/shm -t tmpfs -o mode=1777 shm
fi
# Guest RAM in huge pages (--backend=hugetlbfs) comes from this mount.
case " $* " in
*" --backend=hugetlbfs "*)
	mkdir -p "$root/run/hugepages"
	mnt /run/hugepages -t hugetlbfs hugetlbfs
	;;
esac

echo "chroot $root: python3 $script $*"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run TMPDIR=/run \
	LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
	chroot "$root" /usr/bin/python3 "$script" "$@"
rc=$?
cleanup
exit $rc
