# Shared helpers for the scripts in this directory (sourced, not run).
die() {
	echo "error: $*" >&2
	exit 1
}

# Boot kernel KIND next: build/bzImage-KIND becomes build/bzImage, which
# run-guest.sh boots, and run-plan.sh names KIND in its results.
use_kernel() {
	cp "$top/build/bzImage-$1" "$top/build/bzImage"
	echo "$1" >"$top/build/kernel-kind"
}
