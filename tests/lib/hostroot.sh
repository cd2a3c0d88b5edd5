#!/bin/sh
# Guest-side helpers for the programs that run from the host's root in a
# chroot (tests/qemu, tests/criu).  scripts/build-tests.sh puts this file
# in front of such a script (list it first among the plan line's sources).
#
# mnt DIR MOUNT-ARGS...: mount on $root/DIR, remembered for cleanup;
# cleanup: undo every such mount.  $root is the host's root.

root=${HOSTROOT:-/host}
mounted=
cleanup() {
	for m in $mounted; do
		umount "$m" 2>/dev/null || umount -l "$m" ||
			echo "warning: cannot unmount $m"
	done
	mounted=
}
mnt() {
	d=$root$1
	shift
	if ! mount "$@" "$d"; then
		echo "FAIL: cannot mount $* on $d"
		cleanup
		exit 1
	fi
	mounted="$d $mounted"
}
trap 'cleanup; exit 1' INT TERM HUP
