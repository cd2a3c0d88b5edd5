#!/bin/sh
# Build bzImage for build/obj-KIND with ccache and export the uapi headers.
# Artifacts: build/bzImage (the last kernel built), build/bzImage-KIND, and,
# for our own tree (no KTREE), build/headers/include.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
kind=$1
tree=${KTREE:-$top/build/linux}
obj=$top/build/obj-$kind
[ -f "$obj/.config" ] || die "build/obj-$kind is not configured"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
# Hits across clones: paths below the project are hashed relative to it.
export CCACHE_BASEDIR="$top"
# ...and with -g, the working directory would otherwise enter the hash (it
# only names the compile directory in the debug info of a test kernel).
export CCACHE_NOHASHDIR=1
export KBUILD_BUILD_USER=uffd KBUILD_BUILD_HOST=build
start=$(date +%s)
make -C "$tree" O="$obj" CC="ccache gcc" -j"$(nproc)" bzImage
cp "$obj/arch/x86/boot/bzImage" "$top/build/bzImage-$kind"
use_kernel "$kind"
# The programs are built against our tree's uapi headers only.
[ -n "${KTREE:-}" ] ||
	make -s -C "$tree" O="$obj" headers_install INSTALL_HDR_PATH="$top/build/headers"
echo "built $kind kernel in $(($(date +%s) - start))s: build/bzImage"
