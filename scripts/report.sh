#!/bin/sh
# Read a guest console log: count TAP results (a program's own TAP subtests
# when it prints them, else its exit status), count every kernel report as a
# failure, and end with "N passed, N failed, N skipped".  Exits 1 on failure.
set -eu
log=$1
[ -f "$log" ] || { echo "no console log: $log" >&2; exit 1; }
tr -d '\r' <"$log" | awk '
function flush() {
	if (cur == "") return
	if (sub_total == 0) {
		if (top == "ok") pass++; else if (top == "skip") skip++
		else { fail++; failed[++nf] = cur }
	} else {
		pass += sub_pass; skip += sub_skip; fail += sub_fail
		if (sub_fail) failed[++nf] = cur " (" sub_fail " subtests)"
		if (top == "notok" && sub_fail == 0) { fail++; failed[++nf] = cur " (exit status)" }
	}
	cur = ""
}
/^\[ *[0-9]+\.[0-9]+\]/ {
	if ($0 ~ /WARNING:|BUG:|Oops|KASAN:|DEBUG_LOCKS_WARN_ON|sleeping function called from invalid context|soft lockup|hung task|blocked for more than|Kernel panic|INFO: task|INFO: possible|INFO: lockdep|general protection fault|UBSAN:|ACPI Error/) {
		reports++; report[reports] = $0
	}
	next
}
/^# running: / { flush(); cur = $3; sub_pass = sub_fail = sub_skip = sub_total = 0; top = ""; next }
/^# +(ok|not ok) [0-9]+/ && cur != "" {
	line = $0; sub(/^# +/, "", line)
	sub_total++
	if (line ~ /^not ok/) { if (line ~ /# (TODO|SKIP)/) sub_skip++; else sub_fail++ }
	else if (line ~ /# SKIP/) sub_skip++; else sub_pass++
	next
}
/^(ok|not ok) [0-9]+ / && cur != "" {
	top = ($0 ~ /^not ok/) ? "notok" : ($0 ~ /# SKIP/ ? "skip" : "ok")
	flush(); next
}
/^# guest: plan complete/ { complete = 1 }
END {
	if (cur != "") { top = "notok"; flush(); failed[++nf] = "(guest died while running it)" }
	if (!complete) { fail++; failed[++nf] = "guest did not complete the plan" }
	for (i = 1; i <= reports; i++) print "kernel report: " report[i]
	fail += reports
	for (i = 1; i <= nf; i++) print "failed: " failed[i]
	printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
	exit fail ? 1 : 0
}'
