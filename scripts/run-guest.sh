#!/bin/sh
# Boot build/bzImage with a plan's initramfs under QEMU (TCG, 2 CPUs or
# GUEST_CPUS, q35: see README, "The guest", for why not the default pc
# machine).
# The serial console is shown and logged to build/logs/PLAN.log.
# QEMU_EXTRA: more QEMU options, split at spaces (make icount's plugin).
# Usage: run-guest.sh PLAN [shell]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
name=$(basename "$1" .plan)
mode=${2:-}
initrd=$top/build/initramfs-$name.cpio.gz
log=$top/build/logs/$name.log
limit=${GUEST_TIMEOUT:-2400}
cpus=${GUEST_CPUS:-2}
case $cpus in ''|*[!0-9]*|0) die "GUEST_CPUS: not a CPU count: $cpus" ;; esac
[ -f "$top/build/bzImage" ] || die "no kernel: build/bzImage"
[ -f "$initrd" ] || die "no initramfs: $initrd"
mkdir -p "$top/build/logs"
# Software emulation can stall a vCPU for many seconds: lockup detectors
# get thresholds that still catch real lockups but not emulation stalls.
append="console=ttyS0 panic=-1 loglevel=7 watchdog_thresh=60 ${GUEST_APPEND:-}"
# No 5-level paging: Linux 6.1's identify_cpu() clears the CPU's feature
# bits with interrupts on, and KASAN, which asks whether LA57 is on to
# know where its shadow starts, then reports an interrupt in that window
# as a wild access (seen once at boot, 2026-12-01; not a userfaultfd bug).
# Two NUMA nodes, so that tests can migrate pages with move_pages(2): node 0
# has all the CPUs and most of the RAM, node 1 (512 MiB) memory only, so that
# everything else allocates, and khugepaged collapses, on node 0 as with
# one node.  (numa=fake=2 split the CPUs and the RAM evenly, and the
# khugepaged selftest then timed out collapsing on a fragmented node.)
set -- qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu max,la57=off -smp "$cpus" -m 3G \
	-object memory-backend-ram,id=ram0,size=2560M \
	-object memory-backend-ram,id=ram1,size=512M \
	-numa node,nodeid=0,cpus=0-$((cpus - 1)),memdev=ram0 -numa node,nodeid=1,memdev=ram1 \
	-nographic -no-reboot -kernel "$top/build/bzImage" -initrd "$initrd" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	${QEMU_EXTRA:-}
if [ "$mode" = shell ]; then
	exec "$@" -append "$append uffd.shell"
fi
echo "booting the guest for plan '$name' (limit ${limit}s), console: build/logs/$name.log"
rc=0
timeout -k 10 "$limit" "$@" -append "$append" </dev/null 2>&1 | tee "$log" || rc=$?
[ "$rc" -eq 0 ] || echo "qemu ended with status $rc (124: timed out)" | tee -a "$log"
