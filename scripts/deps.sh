#!/bin/sh
# Install (as root) or name (otherwise) the Debian 12 packages the project needs.
set -eu
pkgs="linux-source-6.1 qemu-system-x86 busybox-static gcc make flex bison bc
libelf-dev libssl-dev cpio ccache sparse xz-utils dwarves python3 perl git
gzip kmod procps python3-ply python3-git mandoc man-db gnuplot-nox
gcc-multilib criu coccinelle"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
