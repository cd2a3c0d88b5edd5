#!/usr/bin/python3
"""Postcopy live migration of a tiny VM between two local QEMUs.

Runs qemu-system-x86_64 twice on this machine: a source running the tiny
VM of pcvm.s (built here with as/ld) and a destination waiting with
-incoming on 127.0.0.1.  Both get the postcopy-ram capability; the source
is throttled so that precopy cannot converge (the VM rewrites every page of
its work area on each pass), then migrate-start-postcopy hands the VM over
and the destination's RAM fills through userfaultfd (missing faults,
UFFDIO_COPY/UFFDIO_ZEROPAGE).  The guest RAM is private anonymous memory,
or with --backend=memfd a shared memfd (memory-backend-memfd, share=on,
as vhost-user setups have it), which the destination registers as shmem,
or with --backend=hugetlbfs a shared file in 2 MiB huge pages on the
hugetlbfs mount at /run/hugepages (memory-backend-file, share=on), which
the destination fills a huge page at a time.

Pass: the source reports "completed" after "postcopy-active" with
postcopy-requests > 0; the destination VM is running and its serial output
keeps growing, continuing the source's output line for line; a dump of the
work area (pmemsave, destination stopped) is one consistent pass pattern.

Exit status: 0 pass, 1 fail, 4 skip (no QEMU).  Standard library only.
"""

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096
STATE_MAGIC = 0x53564350
PAGE_MAGIC = 0x474D5650
HUGETLBFS = "/run/hugepages"     # postcopy.sh mounts it
TICK_RE = re.compile(r"tick (\d+) pass (\d+)\n")

T0 = time.monotonic()


class Fail(Exception):
    """The test failed; the message says why."""


class Timeout(Fail):
    pass


def log(msg):
    print("[%7.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def size_arg(text):
    """A byte count: 1234, 64k, 4M, 1G (binary units)."""
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a size: %r" % text)
    shift = {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    return int(m.group(1)) << shift


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self):
        return self.end - time.monotonic()

    def check(self, what):
        if self.left() <= 0:
            raise Timeout("overall timeout (%gs) while %s" %
                          (self.seconds, what))


class QMP:
    """A minimal QMP client on a unix socket: one JSON object per line."""

    def __init__(self, name, path, deadline, proc):
        self.name = name
        self.deadline = deadline
        self.buf = b""
        self.events = []
        self.sock = None
        while True:
            if proc.poll() is not None:
                raise Fail("%s QEMU exited (status %s) before its QMP socket "
                           "answered" % (name, proc.returncode))
            deadline.check("connecting to the %s QMP socket" % name)
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    self.sock = s
                    break
                except OSError:
                    s.close()
            time.sleep(0.1)
        greeting = self._read()
        if "QMP" not in greeting:
            raise Fail("%s: no QMP greeting: %r" % (name, greeting))
        self.version = greeting["QMP"]["version"]["qemu"]
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            left = self.deadline.left()
            if left <= 0:
                raise Timeout("overall timeout waiting for %s QMP" % self.name)
            self.sock.settimeout(min(left, 60))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise Fail("%s QMP connection closed" % self.name)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, name, **args):
        """Run a command; return ("return", value) or ("error", desc)."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                return "error", reply["error"].get("desc", str(reply["error"]))
            if "return" in reply:
                return "return", reply["return"]

    def cmd(self, name, **args):
        kind, value = self.call(name, **args)
        if kind == "error":
            raise Fail("%s: %s failed: %s" % (self.name, name, value))
        return value

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def set_pdeathsig():
    """In the child: die with SIGKILL when this script dies."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)       # PR_SET_PDEATHSIG
    except Exception:
        pass


def build_image(tmp, base, pages, stride):
    src = os.path.join(HERE, "pcvm.s")
    obj = os.path.join(tmp, "pcvm.o")
    elf = os.path.join(tmp, "pcvm.elf")
    for tool in ("as", "ld"):
        if not shutil.which(tool):
            raise Fail("no %s (binutils) to build the VM image" % tool)
    subprocess.run(["as", "--32", "--defsym", "BASE=%#x" % base,
                    "--defsym", "PAGES=%d" % pages,
                    "--defsym", "STRIDE=%d" % stride, "-o", obj, src],
                   check=True)
    ld = ["ld", "-m", "elf_i386", "-N", "-Ttext", "0x100000", "-e", "_start",
          "-o", elf, obj]
    # binutils >= 2.39 warns about the RWX segment that -N makes.
    r = subprocess.run(ld + ["--no-warn-rwx-segments"],
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        subprocess.run(ld, check=True)
    return elf


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except FileNotFoundError:
        return ""


def tail(path, n=40):
    lines = read_text(path).splitlines()
    return "\n".join(lines[-n:])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_dump(path, base, pages, stride):
    """Check a pmemsave of the state page and the work area.

    Returns (passes, ticks, boundary) or raises Fail: boundary is how many
    pages, in the VM's visiting order, the unfinished pass had reached."""
    with open(path, "rb") as f:
        data = f.read()
    want = (pages + 1) * PAGE
    if len(data) != want:
        raise Fail("memory dump has %d bytes, want %d" % (len(data), want))
    passes, smagic, _sec, ticks = struct.unpack_from("<4I", data, 0)
    if smagic != STATE_MAGIC:
        raise Fail("state page magic %#x, want %#x" % (smagic, STATE_MAGIC))
    counters = []
    bad = []
    for i in range(pages):
        off = (i + 1) * PAGE
        count, addr, magic = struct.unpack_from("<3I", data, off)
        if addr != base + i * PAGE or magic != PAGE_MAGIC:
            bad.append("page %#x: address word %#x, magic %#x" %
                       (base + i * PAGE, addr, magic))
        counters.append(count)
    if bad:
        raise Fail("%d pages lost their identity, e.g. %s" %
                   (len(bad), "; ".join(bad[:5])))
    # Stopped in pass P+1: counters read P+1 for the first pages in the
    # visiting order (k * stride mod pages), P for the rest.
    order = [k * stride % pages for k in range(pages)]
    boundary = 0
    while boundary < pages and counters[order[boundary]] == passes + 1:
        boundary += 1
    rest = set(counters[i] for i in order[boundary:])
    if rest and rest != {passes}:
        odd = [(k, order[k]) for k in range(boundary, pages)
               if counters[order[k]] != passes][:5]
        raise Fail("counters are not one pass pattern: passes done %d, the "
                   "first %d pages in visiting order read %d, then values "
                   "%s; first odd pages (visit: address=counter) %s" %
                   (passes, boundary, passes + 1, sorted(rest)[:8],
                    ", ".join("%d: %#x=%d" % (k, base + i * PAGE, counters[i])
                              for k, i in odd)))
    return passes, ticks, boundary


def check_serial(src_text, dst_text):
    """Ticks across source then destination output: 1, 2, 3, ... each once.

    Returns (source ticks, destination ticks, last pass seen)."""
    if "pcvm: start" not in src_text:
        raise Fail("the source VM never printed its start line")
    if "pcvm: start" in dst_text:
        raise Fail("the destination VM started afresh instead of resuming")
    both = src_text[src_text.index("pcvm: start"):] + dst_text
    ticks = [(int(t), int(p)) for t, p in TICK_RE.findall(both)]
    for n, (t, _p) in enumerate(ticks, 1):
        if t != n:
            raise Fail("serial output: tick %d where %d was due" % (t, n))
    passes = [p for _t, p in ticks]
    if passes != sorted(passes):
        raise Fail("serial output: pass counts go backwards")
    src_ticks = len(TICK_RE.findall(src_text))
    return src_ticks, len(ticks) - src_ticks, passes[-1] if passes else 0


def add_vm_options(ap):
    """The options of the tiny VM and of a test run, common to the tests."""
    ap.add_argument("--qemu", default="/usr/bin/qemu-system-x86_64")
    ap.add_argument("--timeout", type=float, default=300,
                    help="overall limit in seconds (default 300)")
    ap.add_argument("--mem", type=int, default=64, help="VM RAM in MiB")
    ap.add_argument("--base", type=size_arg, default=4 << 20,
                    help="work area start (default 4M)")
    ap.add_argument("--area", type=size_arg, default=32 << 20,
                    help="work area size (default 32M)")
    ap.add_argument("--stride", type=int, default=2533,
                    help="the VM visits page k * STRIDE mod PAGES k-th in "
                    "each pass (default 2533; 1: in address order)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    ap.add_argument("--tmpdir", help="where to make the temporary directory")


def add_backend_option(ap, choices=("anon", "memfd", "hugetlbfs")):
    """--backend: what the guest RAM is, out of @choices."""
    ap.add_argument("--backend", choices=choices, default="anon",
                    help="guest RAM: private anonymous memory (QEMU's "
                    "default), a shared memfd or a shared hugetlbfs file")


BACKENDS = {"anon": "private anonymous memory",
            "memfd": "shared memfd (shmem)",
            "hugetlbfs": "shared hugetlbfs file in " + HUGETLBFS}


def ram_options(opts):
    """(machine, extra QEMU arguments) for the guest RAM of --backend."""
    if opts.backend == "memfd":
        return "pc,memory-backend=ram0", [
            "-object", "memory-backend-memfd,id=ram0,size=%dM,share=on"
            % opts.mem]
    if opts.backend == "hugetlbfs":
        return "pc,memory-backend=ram0", [
            "-object", "memory-backend-file,id=ram0,size=%dM,mem-path=%s,"
            "share=on" % (opts.mem, HUGETLBFS)]
    return "pc", []


def vm_geometry(ap, opts):
    """(pages, stride) of the work area; a usage error if they are bad."""
    pages = opts.area // PAGE
    if opts.base % PAGE or opts.base < (2 << 20) or pages < 16 or \
            opts.base + opts.area > (opts.mem << 20):
        ap.error("work area must be page aligned, above 2M and inside RAM")
    stride = opts.stride % pages
    if stride == 0 or math.gcd(stride, pages) != 1:
        ap.error("--stride must be coprime with the work area's %d pages"
                 % pages)
    return pages, stride


def final_report(what, ok, opts, tmp, files, procs, last, summary):
    """Print the closing report: QEMU stderr (and on failure the serial
    tails and the last query-migrate of each side), the summary and the
    verdict; remove the temporary directory unless --keep."""
    report = []
    for side, f in files.items():
        err = read_text(f["stderr"]).strip()
        if err or not ok:
            report.append("--- %s QEMU stderr (exit %s) ---\n%s" %
                          (side, procs[side].returncode
                           if side in procs else "-", err or "(empty)"))
        if not ok:
            report.append("--- %s serial (tail) ---\n%s" %
                          (side, tail(f["serial"])))
    if not ok:
        for side, info in last.items():
            report.append("last %s query-migrate: %s" %
                          (side, json.dumps(info, sort_keys=True)))
    if opts.keep:
        report.append("kept %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    summary["time s"] = "%.1f" % (time.monotonic() - T0)
    report.append("summary: " +
                  ", ".join("%s: %s" % kv for kv in summary.items()))
    report.append("%s: %s" % ("PASS" if ok else "FAIL", what))
    print("\n".join(report), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_vm_options(ap)
    ap.add_argument("--max-bandwidth", type=size_arg, default=4 << 20,
                    help="precopy limit, bytes/s (default 4M)")
    ap.add_argument("--postcopy-bandwidth", type=size_arg, default=16 << 20,
                    help="postcopy background limit, bytes/s, 0: none "
                    "(default 16M)")
    ap.add_argument("--precopy", type=size_arg, default=4 << 20,
                    help="bytes of precopy before switching (default 4M)")
    ap.add_argument("--settle", type=float, default=3,
                    help="seconds between the destination serial reads")
    add_backend_option(ap)
    opts = ap.parse_args()

    if not os.access(opts.qemu, os.X_OK):
        print("SKIP: no %s" % opts.qemu, flush=True)
        return 4
    pages, stride = vm_geometry(ap, opts)

    deadline = Deadline(opts.timeout)
    tmp = tempfile.mkdtemp(prefix="postcopy-", dir=opts.tmpdir)
    procs = {}
    qmps = {}
    files = {}
    summary = {}
    last = {}           # the source's last query-migrate
    ok = False

    def on_signal(signum, _frame):
        raise Fail("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        log("kernel %s; QEMU %s; temp %s" % (os.uname().release, opts.qemu,
                                              tmp))
        elf = build_image(tmp, opts.base, pages, stride)
        port = free_port()
        log("VM image built: work area %#x + %d MiB (%d pages, stride %d); "
            "port %d" % (opts.base, opts.area >> 20, pages, stride, port))

        machine, backend = ram_options(opts)
        common = [opts.qemu, "-nodefaults", "-machine", machine,
                  "-accel", "tcg,tb-size=64", "-cpu", "qemu64", "-smp", "1",
                  "-m", str(opts.mem), "-display", "none", "-vga", "none",
                  "-net", "none", "-kernel", elf] + backend
        log("guest RAM: %s" % BACKENDS[opts.backend])
        for side in ("destination", "source"):
            f = files[side] = {
                "qmp": os.path.join(tmp, side + ".qmp"),
                "serial": os.path.join(tmp, side + ".serial"),
                "stderr": os.path.join(tmp, side + ".stderr"),
            }
            argv = common + ["-name", side,
                             "-qmp", "unix:%s,server=on,wait=off" % f["qmp"],
                             "-serial", "file:" + f["serial"]]
            if side == "destination":
                argv += ["-incoming", "tcp:127.0.0.1:%d" % port]
            with open(f["stderr"], "wb") as err:
                procs[side] = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    preexec_fn=set_pdeathsig, cwd=tmp)
            log("started %s QEMU, pid %d" % (side, procs[side].pid))
        for side in ("destination", "source"):
            qmps[side] = QMP(side, files[side]["qmp"], deadline, procs[side])
        src, dst = qmps["source"], qmps["destination"]
        v = src.version
        log("QMP up on both (QEMU %d.%d.%d)" %
            (v["major"], v["minor"], v["micro"]))

        caps = [{"capability": "postcopy-ram", "state": True},
                {"capability": "events", "state": True}]
        # On the destination this runs QEMU's userfaultfd probe.
        kind, err = dst.call("migrate-set-capabilities", capabilities=caps)
        if kind == "error":
            raise Fail("destination refused postcopy-ram: %s" % err)
        src.cmd("migrate-set-capabilities", capabilities=caps)
        src.cmd("migrate-set-parameters", **{
            "max-bandwidth": opts.max_bandwidth,
            "downtime-limit": 1,
            "max-postcopy-bandwidth": opts.postcopy_bandwidth})
        log("postcopy-ram on both sides; source: max-bandwidth %d B/s, "
            "downtime-limit 1 ms, max-postcopy-bandwidth %d B/s" %
            (opts.max_bandwidth, opts.postcopy_bandwidth))

        # The VM must be at work before the migration starts.
        while not TICK_RE.search(read_text(files["source"]["serial"])):
            deadline.check("waiting for the source VM's first tick")
            if procs["source"].poll() is not None:
                raise Fail("source QEMU exited")
            time.sleep(0.2)
        log("source VM running: %s" %
            read_text(files["source"]["serial"]).splitlines()[0])

        src.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
        log("migrate started")
        statuses = []           # from the MIGRATION events
        seen = 0
        started_postcopy = None
        last_print = 0
        while True:
            deadline.check("migrating (statuses so far: %s)" %
                           " -> ".join(statuses))
            info = last["source"] = src.cmd("query-migrate")
            status = info.get("status", "none")
            for e in src.events[seen:]:
                if e.get("event") == "MIGRATION":
                    statuses.append(e["data"]["status"])
                    log("source status: %s" % statuses[-1])
            seen = len(src.events)
            ram = info.get("ram", {})
            now = time.monotonic()
            if now - last_print >= 2 and status in ("active",
                                                    "postcopy-active"):
                last_print = now
                log("  %s: transferred %d KiB, remaining %d KiB, "
                    "dirty-sync-count %s, postcopy-requests %s" %
                    (status, ram.get("transferred", 0) >> 10,
                     ram.get("remaining", 0) >> 10,
                     ram.get("dirty-sync-count"),
                     ram.get("postcopy-requests")))
            if status in ("failed", "cancelled", "postcopy-paused"):
                raise Fail("migration %s: %s" %
                           (status, info.get("error-desc", "(no error-desc)")))
            for side, p in procs.items():
                if p.poll() is not None:
                    raise Fail("%s QEMU exited (status %s) during the "
                               "migration" % (side, p.returncode))
            if status == "completed":
                break
            if (status == "active" and started_postcopy is None and
                    ram.get("transferred", 0) >= opts.precopy):
                log("precopy moved %d KiB (dirty-sync-count %s): "
                    "migrate-start-postcopy" %
                    (ram["transferred"] >> 10, ram.get("dirty-sync-count")))
                src.cmd("migrate-start-postcopy")
                started_postcopy = time.monotonic()
            time.sleep(0.2)
        final = src.cmd("query-migrate")
        ram = final.get("ram", {})
        summary.update({
            "postcopy-requests": ram.get("postcopy-requests", 0),
            "normal pages": ram.get("normal", 0),
            "zero pages": ram.get("duplicate", 0),
            "transferred KiB": ram.get("transferred", 0) >> 10,
            "precopy KiB": ram.get("precopy-bytes", 0) >> 10,
            "postcopy KiB": ram.get("postcopy-bytes", 0) >> 10,
            "dirty-sync-count": ram.get("dirty-sync-count"),
            "downtime ms": final.get("downtime"),
            "total-time ms": final.get("total-time"),
            "postcopy phase s": "%.2f" % (time.monotonic() - started_postcopy)
            if started_postcopy else None,
        })
        log("migration completed: %s" % json.dumps(final, sort_keys=True))
        src.cmd("query-status")         # collects the last events
        statuses += [e["data"]["status"] for e in src.events[seen:]
                     if e.get("event") == "MIGRATION"]
        summary["statuses"] = " -> ".join(statuses)
        if "postcopy-active" not in statuses:
            raise Fail("the migration never entered postcopy-active "
                       "(it converged in precopy?)")
        if not ram.get("postcopy-requests"):
            raise Fail("postcopy-requests is 0: the destination never "
                       "asked for a page")

        # The destination runs the VM on.
        dstatus = dst.cmd("query-status")
        summary["destination statuses"] = " -> ".join(
            e["data"]["status"] for e in dst.events
            if e.get("event") == "MIGRATION")
        dmig = dst.call("query-migrate")
        log("destination: query-status %s; query-migrate %s" %
            (json.dumps(dstatus), json.dumps(dmig[1])))
        if dstatus.get("status") != "running":
            raise Fail("destination VM is %s, not running" %
                       dstatus.get("status"))
        size1 = len(read_text(files["destination"]["serial"]))
        time.sleep(opts.settle)
        deadline.check("watching the destination serial output")
        size2 = len(read_text(files["destination"]["serial"]))
        summary["destination serial bytes"] = "%d -> %d over %gs" % (
            size1, size2, opts.settle)
        log("destination serial output: %d -> %d bytes in %gs" %
            (size1, size2, opts.settle))
        if size2 <= size1:
            raise Fail("the destination VM's serial output stopped growing")

        # Its memory: stop it and dump the work area.
        dst.cmd("stop")
        dump = os.path.join(tmp, "destination.mem")
        state = opts.base - PAGE
        dst.cmd("pmemsave", val=state, size=(pages + 1) * PAGE, filename=dump)
        passes, ticks, boundary = check_dump(dump, opts.base, pages, stride)
        src_ticks, dst_ticks, last_pass = check_serial(
            read_text(files["source"]["serial"]),
            read_text(files["destination"]["serial"]))
        if dst_ticks < 1:
            raise Fail("no tick line from the destination VM")
        # The VM may have been stopped in the middle of a tick line.
        if ticks - (src_ticks + dst_ticks) not in (0, 1) or \
                last_pass > passes:
            raise Fail("serial output (%d ticks, last pass %d) does not "
                       "match the VM state (%d ticks, %d passes)" %
                       (src_ticks + dst_ticks, last_pass, ticks, passes))
        summary["VM passes"] = passes
        summary["pass boundary page"] = boundary
        summary["ticks source/destination"] = "%d/%d" % (src_ticks, dst_ticks)
        log("memory intact: %d passes done, pass %d stopped at page %d of "
            "%d; ticks %d on the source, %d on the destination" %
            (passes, passes + 1, boundary, pages, src_ticks, dst_ticks))
        ok = True
    except Fail as e:
        log("FAIL: %s" % e)
    except Exception as e:      # a bug here, or a tool that failed
        log("FAIL: %s: %s" % (type(e).__name__, e))
    finally:
        for side, q in qmps.items():
            try:
                if q.sock and deadline.left() > -30:
                    q.sock.settimeout(5)
                    q.sock.sendall(b'{"execute": "quit"}\n')
            except OSError:
                pass
        for side, p in procs.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for q in qmps.values():
            q.close()
        final_report("QEMU postcopy migration", ok, opts, tmp, files, procs,
                     last, summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
