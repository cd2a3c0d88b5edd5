#!/usr/bin/env python3
# icount-prof.py LOG VMLINUX [N]: the "PROF address count" lines that
# bench/icount-plugin.c printed for one section (ICOUNT_SECT), summed per
# kernel function of VMLINUX and divided by N (the section's operations):
# the 60 costliest functions, then the total.
import sys, subprocess, bisect, collections
log, vmlinux = sys.argv[1], sys.argv[2]
syms = []
for line in subprocess.run(['nm', '-n', vmlinux], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in 'tTwW':
        syms.append((int(parts[0], 16), parts[2]))
addrs = [a for a, _ in syms]
tot = collections.Counter()
for line in open(log, errors='replace'):
    if line.startswith('PROF '):
        _, va, c = line.split()
        va = int(va, 16); c = int(c)
        i = bisect.bisect_right(addrs, va) - 1
        tot[syms[i][1] if i >= 0 else '?'] += c
n = float(sys.argv[3]) if len(sys.argv) > 3 else 1
for name, c in tot.most_common(60):
    print(f"{c/n:9.1f} {name}")
print(f"{sum(tot.values())/n:9.1f} TOTAL")
