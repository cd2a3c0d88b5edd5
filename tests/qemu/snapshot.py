#!/usr/bin/python3
"""Background snapshot of a tiny VM with QEMU, restored in a second QEMU.

Runs qemu-system-x86_64 with the tiny VM of pcvm.s (built here with as/ld;
the helpers come from postcopy.py) and takes a background snapshot of it:
the background-snapshot capability, then migrate to "exec:cat > FILE".
QEMU stops the VM only to save the CPU and device state, write-protects
guest RAM through userfaultfd (UFFDIO_REGISTER in WP mode,
UFFDIO_WRITEPROTECT) and lets the VM run on while it writes RAM out; a
page the VM writes before it is saved raises a write-protect fault, which
QEMU answers by saving the page and lifting the protection.  The snapshot is
throttled (max-bandwidth) so that it takes seconds while the VM rewrites
every page of its work area on each pass.  The guest RAM is private
anonymous memory, QEMU's default, or with --backend=memfd a shared memfd
(shmem) or with --backend=hugetlbfs a shared file in 2 MiB huge pages.  The snapshot file is then loaded by a
second QEMU (-S -incoming "exec:cat FILE"), which holds the VM paused.

Pass: QEMU takes the background-snapshot capability (a refusal, as when
the kernel lacks userfaultfd write-protect, is a failure, not a skip); the
snapshot completes while the VM runs (its work-area counters advance
between dumps taken during it) and the source VM runs on after it; the
restored VM's state page and work area (pmemsave, still paused) are one
consistent pass pattern, taken at the snapshot's start (its tick count is
the source's when migrate was issued or at most a tick or two later, and the
source's serial output agrees with its pass count); after cont the restored VM
resumes instead of rebooting (no start line; its ticks continue the
snapshot's, consecutively) and a second dump is consistent again.

Exit status: 0 pass, 1 fail, 4 skip (no QEMU).  Standard library only.
"""

import argparse
import json
import math
import os
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True          # no __pycache__ in the repository
sys.path.insert(0, HERE)
import postcopy as pc                   # noqa: E402 (main() only as a script)

PAGE = pc.PAGE
Fail = pc.Fail
log = pc.log
read_text = pc.read_text


def ticks_of(text):
    """The complete tick lines in serial output: [(tick, passes), ...]."""
    return [(int(t), int(p)) for t, p in pc.TICK_RE.findall(text)]


def check_run(ticks, what):
    """Tick numbers go up one at a time; pass counts never go back."""
    for (t0, p0), (t1, p1) in zip(ticks, ticks[1:]):
        if t1 != t0 + 1:
            raise Fail("%s: tick %d after tick %d" % (what, t1, t0))
        if p1 < p0:
            raise Fail("%s: pass count goes back from %d to %d at tick %d" %
                       (what, p0, p1, t1))


def counter_sum(path, pages):
    """The sum of the page counters in a pmemsave of the work area."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != pages * PAGE:
        raise Fail("work area dump has %d bytes, want %d" %
                   (len(data), pages * PAGE))
    return sum(struct.unpack_from("<I", data, i * PAGE)[0]
               for i in range(pages))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pc.add_vm_options(ap)
    ap.add_argument("--max-bandwidth", type=pc.size_arg, default=8 << 20,
                    help="snapshot speed limit, bytes/s, 0: none and the VM "
                    "is not watched during the snapshot (default 8M)")
    ap.add_argument("--sample", type=float, default=1,
                    help="seconds between work-area dumps during the "
                    "snapshot (default 1)")
    pc.add_backend_option(ap)
    opts = ap.parse_args()

    if not os.access(opts.qemu, os.X_OK):
        print("SKIP: no %s" % opts.qemu, flush=True)
        return 4
    pages, stride = pc.vm_geometry(ap, opts)
    bw = opts.max_bandwidth

    deadline = pc.Deadline(opts.timeout)
    tmp = tempfile.mkdtemp(prefix="snapshot-", dir=opts.tmpdir)
    snap = os.path.join(tmp, "snapshot.bin")
    procs = {}
    qmps = {}
    files = {}
    summary = {}
    last = {}           # the last query-migrate of each QEMU
    ok = False

    def on_signal(signum, _frame):
        raise Fail("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def start_qemu(side, common, extra):
        f = files[side] = {
            "qmp": os.path.join(tmp, side + ".qmp"),
            "serial": os.path.join(tmp, side + ".serial"),
            "stderr": os.path.join(tmp, side + ".stderr"),
        }
        argv = common + ["-name", side,
                         "-qmp", "unix:%s,server=on,wait=off" % f["qmp"],
                         "-serial", "file:" + f["serial"]] + extra
        with open(f["stderr"], "wb") as err:
            procs[side] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                preexec_fn=pc.set_pdeathsig, cwd=tmp)
        log("started %s QEMU, pid %d%s" % (side, procs[side].pid,
                                           ": " + " ".join(extra)
                                           if extra else ""))
        qmps[side] = pc.QMP(side, f["qmp"], deadline, procs[side])
        return qmps[side]

    def stop_qemu(side):
        """QMP quit, SIGKILL after 15 s; reap it.  Returns its status."""
        q, p = qmps.get(side), procs.get(side)
        if p and p.poll() is None:
            try:
                q.sock.settimeout(5)
                q.sock.sendall(b'{"execute": "quit"}\n')
            except (AttributeError, OSError):   # no QMP (yet): kill it
                p.kill()
        if p:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if q:
            q.close()
        return p.returncode if p else None

    def alive(side, what):
        p = procs[side]
        if p.poll() is not None:
            raise Fail("%s QEMU exited (status %s) %s" %
                       (side, p.returncode, what))

    def wait_serial(side, done, limit, what):
        """Poll SIDE's tick lines until done(ticks); at most LIMIT s."""
        end = time.monotonic() + limit
        while True:
            ticks = ticks_of(read_text(files[side]["serial"]))
            if done(ticks):
                return ticks
            deadline.check(what)
            alive(side, "while " + what)
            if time.monotonic() > end:
                raise Fail("%s VM: nothing after %gs %s (last tick line: "
                           "%s)" % (side, limit, what,
                                    ticks[-1] if ticks else "none"))
            time.sleep(0.2)

    try:
        log("kernel %s; QEMU %s; temp %s" % (os.uname().release, opts.qemu,
                                              tmp))
        elf = pc.build_image(tmp, opts.base, pages, stride)
        log("VM image built: work area %#x + %d MiB (%d pages, stride %d)"
            % (opts.base, opts.area >> 20, pages, stride))
        machine, backend = pc.ram_options(opts)
        common = [opts.qemu, "-nodefaults", "-machine", machine,
                  "-accel", "tcg,tb-size=64", "-cpu", "qemu64", "-smp", "1",
                  "-m", str(opts.mem), "-display", "none", "-vga", "none",
                  "-net", "none", "-kernel", elf] + backend

        # --- the source and its snapshot ---
        src = start_qemu("source", common, [])
        v = src.version
        log("QMP up (QEMU %d.%d.%d); guest RAM: %s" %
            (v["major"], v["minor"], v["micro"], pc.BACKENDS[opts.backend]))
        caps = [{"capability": "background-snapshot", "state": True},
                {"capability": "events", "state": True}]
        # QEMU probes userfaultfd write-protect here (UFFDIO_API, and a
        # UFFDIO_REGISTER in WP mode of each RAM block).
        kind, err = src.call("migrate-set-capabilities", capabilities=caps)
        if kind == "error":
            raise Fail("QEMU refused background-snapshot: %s (it needs "
                       "userfaultfd write-protect on %s)"
                       % (err, pc.BACKENDS[opts.backend]))
        # QEMU 7.2's snapshot thread lifts the rate limit when it starts:
        # max-bandwidth is set here, again once migrate has returned and
        # once more when the snapshot is active (each set applies to the
        # running migration).
        if bw:
            src.cmd("migrate-set-parameters", **{"max-bandwidth": bw})
        log("background-snapshot on; max-bandwidth %s" %
            ("%d B/s" % bw if bw else "QEMU's (unlimited for a snapshot)"))

        pc_serial = files["source"]["serial"]
        wait_serial("source", bool, opts.timeout,
                    "waiting for the source VM's first tick")
        log("source VM running: %s" % read_text(pc_serial).splitlines()[0])
        # Every tick line complete now was counted before the snapshot.
        ticks = ticks_of(read_text(pc_serial))
        s0 = ticks[-1][0]
        t_s0 = time.monotonic()
        src.cmd("migrate", uri="exec:cat > " + shlex.quote(snap))
        if bw:
            src.cmd("migrate-set-parameters", **{"max-bandwidth": bw})
        log("migrate to exec:cat > %s at source tick %d" % (snap, s0))

        probe = os.path.join(tmp, "probe.mem")
        statuses = []           # from the MIGRATION events
        seen = 0
        run_states = []         # query-status while active, changes only
        samples = []            # (s since active, work-area counter sum)
        t_active = None
        last_sample = last_print = 0
        while True:
            deadline.check("snapshotting (statuses so far: %s)" %
                           " -> ".join(statuses))
            info = last["source"] = src.cmd("query-migrate")
            status = info.get("status", "none")
            for e in src.events[seen:]:
                if e.get("event") == "MIGRATION":
                    statuses.append(e["data"]["status"])
                    log("source status: %s" % statuses[-1])
            seen = len(src.events)
            alive("source", "during the snapshot")
            if status in ("failed", "cancelled"):
                raise Fail("snapshot %s: %s" %
                           (status, info.get("error-desc", "(no error-desc)")))
            if status == "completed":
                break
            now = time.monotonic()
            if status == "active":
                if t_active is None:
                    t_active = now
                    if bw:
                        src.cmd("migrate-set-parameters",
                                **{"max-bandwidth": bw})
                rs = src.cmd("query-status").get("status")
                if not run_states or run_states[-1] != rs:
                    run_states.append(rs)
                    log("source VM %s during the snapshot" % rs)
                # A dump counts if the snapshot was active on both sides of
                # it; "running" means QEMU has restarted the VM after
                # write-protecting its RAM.
                if bw and rs == "running" and \
                        now - last_sample >= opts.sample:
                    last_sample = now
                    src.cmd("pmemsave", val=opts.base, size=opts.area,
                            filename=probe)
                    if src.cmd("query-migrate").get("status") == "active":
                        samples.append((time.monotonic() - t_active,
                                        counter_sum(probe, pages)))
                ram = info.get("ram", {})
                if now - last_print >= 2:
                    last_print = now
                    log("  active: transferred %d KiB, remaining %d KiB; "
                        "VM at tick %s%s" %
                        (ram.get("transferred", 0) >> 10,
                         ram.get("remaining", 0) >> 10,
                         (ticks_of(read_text(pc_serial)) or [("-",)])[-1][0],
                         "; counter sum %d" % samples[-1][1]
                         if samples else ""))
            time.sleep(0.2)
        t_done = time.monotonic()
        if t_active is None:
            t_active = t_done
        final = last["source"] = src.cmd("query-migrate")
        sstatus = src.cmd("query-status")       # collects the last events
        statuses += [e["data"]["status"] for e in src.events[seen:]
                     if e.get("event") == "MIGRATION"]
        ticks = ticks_of(read_text(pc_serial))
        s_done = ticks[-1][0]
        ram = final.get("ram", {})
        summary.update({
            "statuses": " -> ".join(statuses),
            "snapshot s": "%.2f" % (t_done - t_s0),
            "transferred KiB": ram.get("transferred", 0) >> 10,
            "normal pages": ram.get("normal", 0),
            "zero pages": ram.get("duplicate", 0),
            "setup-time ms": final.get("setup-time"),
            "downtime ms": final.get("downtime"),
            "total-time ms": final.get("total-time"),
            "source ticks during": "%d -> %d" % (s0, s_done),
        })
        log("snapshot completed: %s" % json.dumps(final, sort_keys=True))
        if sstatus.get("status") != "running":
            raise Fail("the source VM is %s after the snapshot, not running" %
                       sstatus.get("status"))
        if bw:
            summary["work-area dumps during"] = len(samples)
            if len(samples) < 2:
                raise Fail("the snapshot took %.1fs, too short to watch the "
                           "VM during it (%d work-area dumps); lower "
                           "--max-bandwidth" % (t_done - t_s0, len(samples)))
            (ta, sa), (tb, sb) = samples[0], samples[-1]
            log("during the snapshot: work-area counter sum %d at %.1fs, "
                "%d at %.1fs (%d dumps); ticks %d -> %d" %
                (sa, ta, sb, tb, len(samples), s0, s_done))
            if sb <= sa:
                raise Fail("the VM made no progress during the snapshot: "
                           "work-area counter sum %d at %.1fs and %d at "
                           "%.1fs after it went active" % (sa, ta, sb, tb))
            summary["counter progress during"] = sb - sa
        if os.path.exists(probe):
            os.remove(probe)

        # The source runs on, write protection gone.
        ticks = wait_serial("source", lambda t: t and t[-1][0] > s_done, 20,
                            "waiting for a source tick after the snapshot")
        src_text = read_text(pc_serial)
        if "pcvm: start" not in src_text:
            raise Fail("the source VM never printed its start line")
        if ticks[0][0] != 1:
            raise Fail("source serial output: first tick %d" % ticks[0][0])
        check_run(ticks, "source serial output")
        rc = stop_qemu("source")
        if rc != 0:
            raise Fail("source QEMU ended with status %s after quit" % rc)
        ticks = ticks_of(read_text(pc_serial))
        src_map = dict(ticks)
        size = os.path.getsize(snap) if os.path.exists(snap) else 0
        summary["snapshot file KiB"] = size >> 10
        log("source QEMU quit after tick %d; snapshot file %d KiB" %
            (ticks[-1][0], size >> 10))
        if size < opts.area:
            raise Fail("the snapshot file has %d bytes, less than the %d of "
                       "the work area alone" % (size, opts.area))

        # --- the restored VM ---
        rq = start_qemu("restored", common,
                        ["-S", "-incoming", "exec:cat " + shlex.quote(snap)])
        states = []
        while True:
            deadline.check("loading the snapshot (states so far: %s)" %
                           " -> ".join(states))
            alive("restored", "while loading the snapshot")
            rs = rq.cmd("query-status").get("status")
            info = last["restored"] = rq.cmd("query-migrate")
            mstatus = info.get("status", "none")
            state = "%s/%s" % (rs, mstatus)
            if not states or states[-1] != state:
                states.append(state)
                log("restored QEMU: run state %s, incoming %s" %
                    (rs, mstatus))
            if mstatus in ("failed", "cancelled"):
                raise Fail("loading the snapshot %s: %s" %
                           (mstatus, info.get("error-desc",
                                              "(no error-desc)")))
            if rs != "inmigrate" and mstatus not in ("setup", "active"):
                break
            time.sleep(0.1)
        summary["restored states"] = " -> ".join(states)
        if rs != "paused":
            raise Fail("the restored VM is %s after loading, want paused "
                       "(-S)" % rs)

        # Its memory as loaded: the VM at the snapshot's start.
        state = opts.base - PAGE
        dump = os.path.join(tmp, "restored.mem")
        rq.cmd("pmemsave", val=state, size=(pages + 1) * PAGE, filename=dump)
        ps, ts, boundary = pc.check_dump(dump, opts.base, pages, stride)
        log("restored memory consistent: %d passes done, pass %d stopped at "
            "page %d of %d; tick %d" % (ps, ps + 1, boundary, pages, ts))
        summary["snapshot passes/tick"] = "%d/%d" % (ps, ts)
        # The VM is stopped at the start, promptly after migrate: a tick
        # in between is possible, and one more per second of setup.
        slack = 2 + int(math.ceil(t_active - t_s0))
        if not s0 <= ts <= s0 + slack:
            raise Fail("the snapshot holds tick %d; the source was at tick "
                       "%d when migrate was issued (%d allowed at most): not "
                       "the VM as of the snapshot's start" %
                       (ts, s0, s0 + slack))
        if ts not in src_map:
            raise Fail("the source never printed tick %d, the snapshot's" %
                       ts)
        if src_map[ts] > ps or src_map.get(ts + 1, ps) < ps:
            raise Fail("the snapshot's %d passes do not fit the source's "
                       "serial output: tick %d pass %d, tick %d pass %s" %
                       (ps, ts, src_map[ts], ts + 1,
                        src_map.get(ts + 1, "-")))

        # It resumes where the snapshot began.
        rq.cmd("cont")
        rstatus = rq.cmd("query-status").get("status")
        if rstatus != "running":
            raise Fail("the restored VM is %s after cont" % rstatus)
        rticks = wait_serial("restored", lambda t: len(t) >= 2, 30,
                             "waiting for two ticks from the restored VM")
        rq.cmd("stop")
        rtext = read_text(files["restored"]["serial"])
        rticks = ticks_of(rtext)
        if "pcvm: start" in rtext:
            raise Fail("the restored VM started afresh instead of resuming")
        t1, p1 = rticks[0]
        # A tick line the snapshot caught half printed ends in the restored
        # output: its first complete line is the snapshot's tick, when the
        # snapshot came before any of it, or the next one.
        want = (ts + 1,) if ts == s0 else (ts, ts + 1)
        if t1 not in want or t1 <= 1:
            raise Fail("the restored VM's first tick is %d; the snapshot "
                       "holds tick %d, so %s was due" %
                       (t1, ts, " or ".join(map(str, want))))
        if p1 < ps:
            raise Fail("the restored VM's tick %d reports pass %d, fewer "
                       "than the snapshot's %d" % (t1, p1, ps))
        check_run(rticks, "restored serial output")
        dump2 = os.path.join(tmp, "restored2.mem")
        rq.cmd("pmemsave", val=state, size=(pages + 1) * PAGE,
               filename=dump2)
        ps2, ts2, boundary2 = pc.check_dump(dump2, opts.base, pages, stride)
        last_t, last_p = rticks[-1]
        # The VM may have been stopped in the middle of a tick line.
        if ts2 - last_t not in (0, 1) or last_p > ps2 or ps2 <= ps:
            raise Fail("the restored VM's serial output (ticks %d..%d, last "
                       "pass %d) does not match its state (%d ticks, %d "
                       "passes; %d at the snapshot)" %
                       (t1, last_t, last_p, ts2, ps2, ps))
        summary["restored ticks"] = "%d..%d" % (t1, last_t)
        summary["restored passes"] = "%d -> %d" % (ps, ps2)
        log("restored VM resumed: ticks %d..%d, passes %d -> %d; memory "
            "consistent again (pass %d stopped at page %d)" %
            (t1, last_t, ps, ps2, ps2 + 1, boundary2))
        ok = True
    except Fail as e:
        log("FAIL: %s" % e)
    except Exception as e:      # a bug here, or a tool that failed
        log("FAIL: %s: %s" % (type(e).__name__, e))
    finally:
        for side in list(procs):
            stop_qemu(side)
        pc.final_report("QEMU background snapshot", ok, opts, tmp, files,
                        procs, last, summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
