#!/bin/sh
# Configure build/obj-KIND (guest or debug, optionally prefixed, e.g.
# base-debug; KTREE names another tree): tinyconfig plus our fragments.
# Fails when an option we asked for did not stick.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
kind=$1
tree=${KTREE:-$top/build/linux}
obj=$top/build/obj-$kind
case "${kind##*-}" in
guest) frags="$top/config/guest.config" ;;
debug) frags="$top/config/guest.config $top/config/debug.config $top/config/criu.config" ;;
*) die "unknown configuration '$kind' (guest or debug)" ;;
esac
# What our series adds is asked for only where the series is applied.
case "$kind" in
base-* | pristine-*) ;;
*) frags="$frags $top/config/series.config" ;;
esac
[ -d "$tree" ] || die "no kernel tree: run 'make tree'"
mkdir -p "$obj"
make -s -C "$tree" O="$obj" tinyconfig >/dev/null
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" $frags >/dev/null
make -s -C "$tree" O="$obj" olddefconfig >/dev/null

# Each wish is checked unless a later fragment overrides it.
set -- $frags
for f in $frags; do
	shift
	later="$*"
	grep -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' "$f" |
	while IFS= read -r want; do
		sym=${want#\# }
		sym=${sym%%[= ]*}
		if [ -n "$later" ] && grep -qE "^(# )?$sym[= ]" $later; then
			continue
		fi
		case "$want" in
		"# "*)
			if grep -q "^$sym=" "$obj/.config"; then
				echo "$sym: asked off, is on"
			fi
			;;
		*)
			if ! grep -qxF "$want" "$obj/.config"; then
				echo "$want: did not stick (now:" \
					"$(grep -E "^(# )?$sym[= ]" "$obj/.config" || echo absent))"
			fi
			;;
		esac
	done
done >"$obj/.config-mismatch"
if [ -s "$obj/.config-mismatch" ]; then
	cat "$obj/.config-mismatch" >&2
	rm -f "$obj/.config"
	die "configuration $kind: options did not stick (check their dependencies)"
fi
echo "configured $kind: build/obj-$kind/.config"
