#!/bin/sh
# criu-check (guest side): CRIU 3.17, unmodified, asks this kernel for the
# userfaultfd features that lazy restore needs: `criu check --feature uffd`
# (the system call and UFFDIO_API) and `--feature uffd-noncoop` (the fork,
# remap, remove and unmap events).  CRIU comes from the host's root at
# /host, run in a chroot as tests/qemu/postcopy.sh does, with the mount
# helpers of tests/lib/hostroot.sh in front.
# Exit status: 0 pass, 1 fail, 4 skip (no criu in the host's root).

skip() { echo "SKIP: $*"; exit 4; }
[ -d "$root/usr" ] || skip "no host root at $root"
[ -x "$root/usr/sbin/criu" ] || skip "no criu in $root (make deps)"

mnt /proc -t proc proc
mnt /sys -t sysfs sys
mnt /dev -o bind /dev
mnt /run -t tmpfs -o mode=755 run
# CRIU probes mount features in a directory it makes under /tmp.
mnt /tmp -t tmpfs -o mode=1777 tmp

rc=0
for feature in uffd uffd-noncoop; do
	echo "chroot $root: criu check --feature $feature"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run TMPDIR=/run \
		chroot "$root" criu check --feature "$feature"
	status=$?
	if [ "$status" -eq 0 ]; then
		echo "ok: $feature"
	else
		echo "FAIL: criu check --feature $feature: status $status"
		rc=1
	fi
done
cleanup
exit $rc
