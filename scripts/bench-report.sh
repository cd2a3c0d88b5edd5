#!/bin/sh
# Summarise benchmark runs: from the guest console logs LOGDIR/upstream-N.log
# and LOGDIR/ours-N.log, take every "BENCH <key> <value> <unit>" line (each
# log is one repetition) and write OUTDIR/results.md, a table of medians per
# key, OUTDIR/faults-vs-threads.png, the mf_* figures, and
# OUTDIR/faults-vs-parked.png, the pf_* figures (gnuplot).
# Spread = (max - min) / median of one kernel's repetitions, in percent.
# Usage: bench-report.sh LOGDIR OUTDIR
set -eu
[ $# -eq 2 ] || { echo "usage: $0 LOGDIR OUTDIR" >&2; exit 2; }
logs=$1
out=$2
[ -d "$logs" ] || { echo "error: no log directory: $logs" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# Records "kernel key value unit"; notes about odd logs in warn.
: >"$tmp/rec"
: >"$tmp/warn"
nup=0
nours=0
for f in "$logs"/upstream-*.log "$logs"/ours-*.log; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .log)
	kernel=${name%-*}
	case $kernel in
	upstream) nup=$((nup + 1)) ;;
	ours) nours=$((nours + 1)) ;;
	esac
	tr -d '\r' <"$f" | awk -v k="$kernel" -v f="$name.log" \
		-v rec="$tmp/rec" -v warn="$tmp/warn" '
	/^(# )*not ok [0-9]+ / { print f ": " $0 >>warn }
	/^# guest: plan complete/ { done = 1 }
	/BENCH / {
		s = substr($0, index($0, "BENCH ") + 6)
		n = split(s, a, " ")
		if (n == 3 && a[1] ~ /^[a-z0-9_]+$/ &&
		    a[2] ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/)
			print k, a[1], a[2], a[3] >>rec
		else
			print f ": malformed: " $0 >>warn
	}
	END { if (!done) print f ": the guest did not complete its plan" >>warn }'
done
[ $((nup + nours)) -gt 0 ] ||
	{ echo "error: no upstream-N.log or ours-N.log in $logs" >&2; exit 1; }
[ -s "$tmp/rec" ] || { echo "error: no BENCH lines in $logs" >&2; exit 1; }

awk -v nup="$nup" -v nours="$nours" -v dat="$tmp/mf.dat" -v pdat="$tmp/pf.dat" \
	-v warn="$tmp/warn" -v logs="$logs" '
function fmt(v, a) {
	a = v < 0 ? -v : v
	if (a >= 1000) return sprintf("%.0f", v)
	if (a >= 10) return sprintf("%.2f", v)
	return sprintf("%.3f", v)
}
# Sorts the values of (kernel, key) and sets med, lo, hi; returns the count.
function stats(kk, n, i, j, t, v) {
	n = cnt[kk]
	for (i = 1; i <= n; i++) v[i] = val[kk, i] + 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	if (n) {
		lo = v[1]; hi = v[n]
		med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	return n
}
# Writes one line per x of xs[1..n], sorted: x, then the values of tab for
# the four (kernel, mode) pairs of cols, "?" where missing.
function table(tab, xs, n, cols, out, i, j, t, c, kk, line) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && xs[j - 1] > xs[j]; j--) {
			t = xs[j]; xs[j] = xs[j - 1]; xs[j - 1] = t
		}
	split(cols, c, " ")
	for (i = 1; i <= n; i++) {
		line = xs[i]
		for (j = 1; j <= 8; j += 2) {
			kk = c[j] SUBSEP c[j + 1] SUBSEP xs[i]
			line = line " " (kk in tab ? tab[kk] : "?")
		}
		print line >out
	}
}
function spread() {
	return med != 0 ? sprintf("%.1f%%", (hi - lo) / (med < 0 ? -med : med) * 100) : "-"
}
{
	kk = $1 SUBSEP $2
	val[kk, ++cnt[kk]] = $3
	if (!($2 in unit)) { unit[$2] = $4; order[++nkeys] = $2 }
	else if (unit[$2] != $4) print "key " $2 ": unit " $4 " here, " unit[$2] " before" >>warn
}
END {
	printf "# userfaultfd benchmarks: upstream vs ours\n\n"
	printf "From `%s`: %d upstream and %d ours console logs (a repetition each).\n", logs, nup, nours
	printf "Median of the repetitions; spread = (max - min) / median; "
	printf "ratio = ours median / upstream median. \"Verdict\" says whether ours is better or worse by the medians, "
	printf "and \"overlap\" when the two kernels'\'' min-max ranges overlap (the difference is within the noise).\n\n"
	printf "| key | unit | better when | upstream median | upstream spread | ours median | ours spread | ours/upstream | verdict | repetitions (upstream/ours) |\n"
	printf "|---|---|---|---:|---:|---:|---:|---:|---|---|\n"
	for (i = 1; i <= nkeys; i++) {
		key = order[i]; u = unit[key]
		if (u ~ /\/s$/) dir = "higher"
		else if (u ~ /^(ns|us|ms|s)$/) dir = "lower"
		else dir = "?"
		nu = stats("upstream" SUBSEP key)
		if (nu) { um = med; ulo = lo; uhi = hi; us = spread(); ums = fmt(um) }
		else { ums = "-"; us = "-" }
		no = stats("ours" SUBSEP key)
		if (no) { om = med; olo = lo; ohi = hi; os = spread(); oms = fmt(om) }
		else { oms = "-"; os = "-" }
		ratio = "-"; verdict = "-"
		if (nu && no && um != 0) {
			r = om / um
			ratio = sprintf("%.3f", r)
			if (dir != "?") {
				if (r == 1) verdict = "same"
				else if ((r < 1) == (dir == "lower")) verdict = "better"
				else verdict = "worse"
				if ((olo > ulo ? olo : ulo) <= (ohi < uhi ? ohi : uhi))
					verdict = verdict ", overlap"
			}
		}
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n",
			key, u, dir, ums, us, oms, os, ratio, verdict, nu, no
		if (key ~ /^mf_h[1n]_f[0-9]+$/) {
			f = substr(key, 8) + 0; h = substr(key, 5, 1)
			if (!(f in isf)) { isf[f] = 1; fs[++nf] = f }
			if (nu) mf["upstream", h, f] = um
			if (no) mf["ours", h, f] = om
		}
		if (key ~ /^pf_(wake|batch)_t[0-9]+$/) {
			split(key, pk, "_"); t = substr(pk[3], 2) + 0
			if (!(t in ist)) { ist[t] = 1; ts[++nt] = t }
			if (nu) pf["upstream", pk[2], t] = um
			if (no) pf["ours", pk[2], t] = om
		}
	}
	# The medians for the plots, by number of threads.
	table(mf, fs, nf, "upstream 1 upstream n ours 1 ours n", dat)
	table(pf, ts, nt, "upstream wake upstream batch ours wake ours batch", pdat)
}' "$tmp/rec" >"$tmp/results.md"

[ -s "$tmp/mf.dat" ] &&
	printf '\n![aggregate faults/s against faulting threads](faults-vs-threads.png)\n' \
		>>"$tmp/results.md"
[ -s "$tmp/pf.dat" ] &&
	printf '\n![faults/s against parked threads](faults-vs-parked.png)\n' \
		>>"$tmp/results.md"
if [ -s "$tmp/warn" ]; then
	{
		printf '\n## Warnings\n\n'
		sed 's/^/- /' "$tmp/warn"
	} >>"$tmp/results.md"
	sed 's/^/warning: /' "$tmp/warn" >&2
fi
mv "$tmp/results.md" "$out/results.md"
echo "wrote $out/results.md"

[ -s "$tmp/mf.dat" ] || [ -s "$tmp/pf.dat" ] ||
	{ echo "no mf_* or pf_* figures: no plot" >&2; exit 0; }
command -v gnuplot >/dev/null ||
	{ echo "error: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
term=png
gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo && term=pngcairo

# plot DAT PNG TITLE XLABEL TITLE2 TITLE3 TITLE4 TITLE5: columns 2-5 of DAT
# against column 1, one line each.
plot() {
	[ -s "$tmp/$1" ] || return 0
	(cd "$tmp" && gnuplot) <<EOF
set terminal $term size 900,560
set output 'plot.png'
set title '$3'
set xlabel '$4'
set ylabel 'faults/s'
set logscale x 2
set offsets graph 0.04, graph 0.04, 0, 0
set yrange [0:*]
set grid
set key outside right top
set datafile missing '?'
plot '$1' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title '$5', \
     '' using 1:3 with linespoints lw 2 pt 5 lc rgb '#17becf' title '$6', \
     '' using 1:4 with linespoints lw 2 pt 7 lc rgb '#d62728' title '$7', \
     '' using 1:5 with linespoints lw 2 pt 5 lc rgb '#ff7f0e' title '$8'
EOF
	mv "$tmp/plot.png" "$out/$2"
	echo "wrote $out/$2"
}
plot mf.dat faults-vs-threads.png \
	'userfaultfd: aggregate faults/s against faulting threads (medians)' \
	'faulting threads' 'upstream, 1 handler' 'upstream, N handlers' \
	'ours, 1 handler' 'ours, N handlers'
plot pf.dat faults-vs-parked.png \
	'userfaultfd: faults/s against threads parked on one descriptor (medians)' \
	'parked threads' 'upstream, wake per COPY' 'upstream, wake per batch' \
	'ours, wake per COPY' 'ours, wake per batch'
