#!/bin/sh
# make icount: guest instructions per userfaultfd operation, ours against
# upstream 6.1.  Under QEMU's software emulation an instruction count is
# what time mostly follows, and unlike time it does not vary from one boot
# to the next: it tells apart differences that make bench's timings leave
# within the noise.  Each kernel boots once, with one vCPU (so that the
# count is the one program's), and runs bench/uffd-icount.c under the TCG
# plugin bench/icount-plugin.c; the table goes to build/bench/icount.md.
# ICOUNT_SECT=N also profiles section N (from 0) by kernel function:
# build/bench/icount-prof-{upstream,ours}.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
S=$top/scripts
out=$top/build/bench
cd "$top"

"$S/bench-kernels.sh"

echo "== plugin and program"
mkdir -p "$out/icount" build/plans
plugin=$out/icount/icount-plugin.so
gcc -shared -fPIC -O2 -Wall -fvisibility=hidden -o "$plugin" \
	bench/icount-plugin.c || die "building the plugin"
cp tests/plans/icount.plan build/plans/icount.plan
"$S/build-tests.sh" build/plans/icount.plan
"$S/mkinitramfs.sh" build/plans/icount.plan

for k in upstream ours; do
	kind=guest
	[ "$k" = ours ] || kind=upstream-guest
	echo "== $k"
	use_kernel "$kind"
	GUEST_CPUS=1 QEMU_EXTRA="-plugin $plugin -d plugin" \
		"$S/run-guest.sh" build/plans/icount.plan >/dev/null ||
		die "the guest run failed: build/logs/icount.log"
	cp build/logs/icount.log "$out/icount/$k.log"
	grep -q '^# uffd-icount: done' "$out/icount/$k.log" ||
		die "uffd-icount did not finish: $out/icount/$k.log"
	# "ICOUNT kernel user blocks" (the plugin) comes before its "SECTION
	# name n" (the program): one row "name n kernel user blocks" each.
	grep -a -E '^ICOUNT |^# SECTION ' "$out/icount/$k.log" |
		awk '/^ICOUNT/ { k = $2; u = $3; b = $4; next }
		     { print $3, $4, k, u, b }' >"$out/icount/$k.rows"
	if [ -n "${ICOUNT_SECT:-}" ]; then
		# ICOUNT_SECT reached the plugin through QEMU's environment.
		n=$(awk -v s="$ICOUNT_SECT" 'NR == s + 1 { print $2 }' \
			"$out/icount/$k.rows")
		python3 "$S/icount-prof.py" "$out/icount/$k.log" \
			"build/obj-$kind/vmlinux" "${n:-1}" \
			>"$out/icount-prof-$k.txt"
	fi
done

# Only the measured round has markers: one row per section and kernel.
awk 'FNR == 1 { f++ }
     f == 1 { up[$1] = $3 / $2; upu[$1] = $4 / $2; upb[$1] = $5 / $2; next }
     { ours[$1] = $3 / $2; oursu[$1] = $4 / $2; oursb[$1] = $5 / $2
       order[++n] = $1 }
     END {
	print "| operation | upstream (kernel instr/op) | ours | ours/upstream | user instr/op (upstream/ours) | kernel blocks/op (upstream/ours) |"
	print "|---|---:|---:|---:|---|---|"
	for (i = 1; i <= n; i++) {
		s = order[i]
		if (seen[s]++) continue
		printf "| %s | %.1f | %.1f | %.3f | %.1f / %.1f | %.1f / %.1f |\n",
		       s, up[s], ours[s], up[s] ? ours[s] / up[s] : 0,
		       upu[s], oursu[s], upb[s], oursb[s]
	}
     }' "$out/icount/upstream.rows" "$out/icount/ours.rows" >"$out/icount.md"
cat "$out/icount.md"
