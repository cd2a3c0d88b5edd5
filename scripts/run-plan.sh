#!/bin/sh
# Build a plan's guest programs, pack them, boot build/bzImage on them and
# report.  Exits non-zero on any failed test or kernel report.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan=$1
name=$(basename "$plan" .plan)
"$top/scripts/build-tests.sh" "$plan"
"$top/scripts/mkinitramfs.sh" "$plan"
"$top/scripts/run-guest.sh" "$plan"
echo "=== results for plan '$name' on $(cat "$top/build/kernel-kind" 2>/dev/null || echo '?') kernel"
"$top/scripts/report.sh" "$top/build/logs/$name.log"
