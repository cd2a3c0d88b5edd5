# Shared helpers for the scripts in this directory (sourced, not run).
die() {
	echo "error: $*" >&2
	exit 1
}
