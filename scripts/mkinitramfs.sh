#!/bin/sh
# Pack busybox, the guest init, a plan and its programs into an initramfs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan=$1
name=$(basename "$plan" .plan)
root=$top/build/guest/$name/root
rm -rf "$root"
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" \
	"$root/tmp" "$root/root"
cp /bin/busybox "$root/bin/busybox"
cp "$top/guest/init" "$root/init"
cp "$plan" "$root/etc/plan"
# Where this repository is, for guest scripts that use it through /host.
echo "$top" >"$root/etc/repo"
cp -r "$top/build/guest/$name/tests" "$root/tests"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc | gzip -1) \
	>"$top/build/initramfs-$name.cpio.gz"
echo "initramfs: build/initramfs-$name.cpio.gz"
