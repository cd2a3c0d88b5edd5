#!/bin/sh
# Cross-compile the series for arm64 (Debian's gcc-aarch64-linux-gnu):
# tinyconfig, our guest options that exist there, and CONFIG_USERFAULTFD,
# so that code outside x86 (syscall tables, compat entry) is compiled.
# Not part of `make check`; it builds build/obj-arm64/Image.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
tree=$top/build/linux
obj=$top/build/obj-arm64
# Debian's cross gcc cannot be installed beside gcc-multilib (which the
# i386 tests need): this target installs it, and the next `make deps`
# (every other target) puts gcc-multilib back.
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	[ "$(id -u)" -eq 0 ] ||
		die "no aarch64-linux-gnu-gcc: apt-get install gcc-aarch64-linux-gnu"
	echo "installing gcc-aarch64-linux-gnu (removes gcc-multilib until the next make deps)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-aarch64-linux-gnu >/dev/null
fi
[ -d "$tree" ] || die "no kernel tree: run 'make tree'"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}" CCACHE_BASEDIR="$top"
set -- -C "$tree" O="$obj" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
	CC="ccache aarch64-linux-gnu-gcc"
mkdir -p "$obj"
make -s "$@" tinyconfig >/dev/null
# The same options as the guest, less the x86 ones, plus the 32-bit entry.
grep -vE 'X86|IA32|ACPI|HYPERVISOR_GUEST|PARAVIRT|KVM_GUEST|SERIAL_8250|NUMA_EMU' \
	"$top/config/guest.config" >"$obj/cross.config"
printf 'CONFIG_COMPAT=y\n' >>"$obj/cross.config"
cat "$top/config/series.config" >>"$obj/cross.config"
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
	"$obj/cross.config" >/dev/null
make -s "$@" olddefconfig >/dev/null
grep -qx 'CONFIG_USERFAULTFD=y' "$obj/.config" || die "CONFIG_USERFAULTFD did not stick"
start=$(date +%s)
make "$@" -j"$(nproc)" Image fs/userfaultfd.o mm/userfaultfd.o
echo "arm64: built in $(($(date +%s) - start))s with CONFIG_USERFAULTFD=y"
