#!/bin/sh
# criu-lazy (guest side): a lazy restore round trip by CRIU 3.17,
# unmodified, from the host's root at /host (chroot, as check.sh).
#
# lazy-victim (tests/criu/lazy-victim.c, in the guest's /tests) fills and
# verifies 36 MiB.  criu dump, criu lazy-pages, criu restore --lazy-pages;
# once restored, the victim forks a child, mremaps one region and
# MADV_DONTNEEDs part of another while the daemon is still filling it in
# (one page in 64 of its memory is a hole, so the daemon fetches it in
# many rounds).  Pass only when restore and the daemon succeed, the
# daemon handled the fork, remap and remove events and at least one
# demand fault, it reports every page of both processes transferred, and
# both processes verified clean to the end.
#
# Usage: lazy.sh [--page-server]
#   --page-server  the dump serves the pages itself on 127.0.0.1 and the
#                  daemon fetches them from there; the victim runs in a
#                  PID namespace so that its restored copy can have the
#                  same PIDs while the original still waits, frozen.
# Exit status: 0 pass, 1 fail, 4 skip (no criu in the host's root).

skip() { echo "SKIP: $*"; exit 4; }
[ -d "$root/usr" ] || skip "no host root at $root"
[ -x "$root/usr/sbin/criu" ] || skip "no criu in $root (make deps)"
[ -x /tests/criu-victim ] || skip "no /tests/criu-victim in this plan"
remote=
case "${1:-}" in
--page-server) remote=1 ;;
"") ;;
*) echo "FAIL: unknown argument $1"; exit 1 ;;
esac

mnt /proc -t proc proc
mnt /sys -t sysfs sys
mnt /dev -o bind /dev
mnt /run -t tmpfs -o mode=755 run
mnt /tmp -t tmpfs -o mode=1777 tmp

w=/run/lazy
d=$root$w
mkdir -p "$d/img"
cp /tests/criu-victim "$d/victim"
ip link set lo up

in_root() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run TMPDIR=/run \
		chroot "$root" "$@"
}
fail() {
	echo "FAIL: $*"
	for log in dump restore lazy; do
		[ -f "$d/img/$log.log" ] || continue
		echo "--- $log.log, errors and last lines:"
		grep -E 'Error|Warn|FORK|REMAP|REMOVE|UNMAP|transferred' \
			"$d/img/$log.log" | head -20
		tail -5 "$d/img/$log.log"
	done
	for r in parent child; do
		[ -f "$d/result.$r" ] && echo "result.$r: $(cat "$d/result.$r")"
	done
	kill -KILL $bg 2>/dev/null
	# The victims themselves, original and restored, by their path.
	for p in /proc/[0-9]*; do
		grep -q "$w/victim" "$p/cmdline" 2>/dev/null &&
			kill -KILL "${p#/proc/}"
	done
	cleanup
	exit 1
}
# wait_for FILE SECONDS: until FILE exists
wait_for() {
	n=0
	while [ ! -e "$1" ]; do
		n=$((n + 1))
		[ $n -le "$2" ] || return 1
		sleep 1
	done
}
bg=

# The victim, in a session of its own (it calls setsid()).
if [ -n "$remote" ]; then
	in_root unshare --pid --fork $w/victim $w </dev/null >/dev/null 2>&1 &
else
	in_root $w/victim $w </dev/null >/dev/null 2>&1 &
fi
starter=$!
bg=$starter
wait_for "$d/ready" 60 || fail "the victim never got ready"
# Its PID as the guest sees it (it reads /proc/self, from this /proc).
pid=$(cat "$d/ready")
echo "victim: pid $pid"

opts="-D $w/img -v4"
ps=
[ -n "$remote" ] && ps="--address 127.0.0.1 --port 27027"
if [ -n "$remote" ]; then
	echo "criu dump --lazy-pages $ps -t $pid"
	in_root timeout -s KILL 600 criu dump $opts -o dump.log \
		--lazy-pages $ps -t "$pid" &
	dumper=$!
	bg="$bg $dumper"
	n=0
	until grep -q 'Starting lazy pages server' "$d/img/dump.log" 2>/dev/null; do
		n=$((n + 1))
		[ $n -le 120 ] || fail "criu dump never started its page server"
		kill -0 $dumper 2>/dev/null || fail "criu dump ended early"
		sleep 1
	done
else
	echo "criu dump -t $pid"
	in_root timeout -s KILL 300 criu dump $opts -o dump.log -t "$pid" ||
		fail "criu dump: status $?"
	wait $starter
fi

: >"$d/go"
echo "criu lazy-pages ${ps:+--page-server $ps}"
in_root timeout -s KILL 600 criu lazy-pages $opts -o lazy.log \
	${ps:+--page-server $ps} &
daemon=$!
bg="$bg $daemon"
wait_for "$d/img/lazy-pages.socket" 60 || fail "no lazy-pages socket"

echo "criu restore --lazy-pages"
in_root timeout -s KILL 300 criu restore $opts -o restore.log --lazy-pages -d ||
	fail "criu restore: status $?"
wait $daemon
status=$?
[ $status -eq 0 ] || fail "criu lazy-pages: status $status"
if [ -n "$remote" ]; then
	wait $dumper
	status=$?
	[ $status -eq 0 ] || fail "criu dump: status $status"
fi

# Both processes must still be verifying now, after the last page came.
for r in parent child; do
	[ -e "$d/result.$r" ] && fail "the $r stopped early"
done
: >"$d/stop"
wait_for "$d/result.parent" 120 || fail "no result from the parent"
wait_for "$d/result.child" 120 || fail "no result from the child"
for r in parent child; do
	case $(cat "$d/result.$r") in
	"ok passes="*) echo "$r: $(cat "$d/result.$r")" ;;
	*) fail "the $r: $(cat "$d/result.$r")" ;;
	esac
done

log=$d/img/lazy.log
faults=$(grep -c '#PF at' "$log")
[ "$faults" -gt 0 ] || fail "no demand fault reached the daemon"
for ev in 'FORK: child with ufd' 'REMAP: ' 'REMOVE: '; do
	grep -q "$ev" "$log" || fail "the daemon saw no '$ev' event"
done
# One summary for each process; every page transferred in each.
sums=$(grep -o 'UFFD transferred pages: ([0-9]*/[0-9]*)' "$log" |
	sed 's/.*(\(.*\))/\1/')
[ "$(echo "$sums" | wc -w)" -eq 2 ] ||
	fail "want 2 transfer summaries (parent, child), got: $sums"
for s in $sums; do
	[ "${s%/*}" = "${s#*/}" ] || fail "pages transferred: $s"
done
echo "pages transferred (parent, child):" $sums "; demand faults: $faults"
echo "events seen by the daemon: fork, remap, remove"
cleanup
exit 0
