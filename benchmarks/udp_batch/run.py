#!/usr/bin/env python3
"""The UDP batching benchmark: the C program and the netkit one, cell by cell, in rounds.

A cell is a datagram size and a pair of send and receive modes; udp_batch_c and
udp_batch_netkit take the same command line and print the same JSON line (see udp_batch_c.c),
each running its sender pinned to CPU 0 and its receiver pinned to CPU 1 over loopback UDP. The
rounds interleave the programs (c then netkit, netkit then c, alternating from cell to cell and
round to round) and rotate the order of the cells, so drift on a shared machine hits both alike.
A run that reports a bad datagram, or fails, stops the benchmark.

Receive modes that only the netkit program has (uring_gro: a multishot io_uring recvmsg with
UDP_GRO into a provided buffer ring) run in their cells without a C twin; their figures are set
against the netkit program's other receive modes of the same round (the paired ratios at the end
of the summary). Where io_uring is unavailable the program prints a "skipped" line, which is
reported and does not fail the run.

Usage:
  run.py (--smoke | --quick | --full) --c UDP_BATCH_C [--netkit UDP_BATCH_NETKIT] [--json FILE]
         [--syscalls] [--sizes N...] [--batch 32]
  run.py --syscalls --c ... [--netkit ...] [--sizes N...]    (system calls only)
  run.py --summarize FILE
--smoke: a few cells, 0.2 s each, one round: proves both programs run and every datagram checks.
--quick: sizes 64, 1200, 1472 x seven mode pairs, 3 rounds of 0.5 s; --full: 9 rounds of 1 s.
--syscalls: one short run per cell and program under strace -f -c, send-side and receive-side
calls per datagram (strace counts setup calls too: one probe sendmsg and the receive that times
out at the end; the programs' own send_calls and recv_calls count the measured phase only).
Without --netkit, or when its file does not exist, only the C program runs."""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile

SIZES = [64, 1200, 1472]
PAIRS = [("sendto", "recvfrom"), ("sendmmsg", "recvmmsg"), ("gso", "recvfrom"),
         ("gso", "recvmmsg"), ("gso", "gro"), ("gso", "gro_mmsg"), ("gso", "uring_gro")]
BASE = ("sendto", "recvfrom")
# Receive modes of the netkit program alone (the C program has no io_uring receive).
NETKIT_ONLY = {"uring_gro"}
# Paired within each round, netkit program: (mode, against), each a (send, recv) pair.
VERSUS = [(("gso", "uring_gro"), ("gso", "gro_mmsg")), (("gso", "uring_gro"), ("gso", "gro"))]
# Smoke cells: every pair at 1200 B, the ends of the size range, and --count runs that end on a
# partial batch (sendmmsg) and on a send of one datagram (gso, no UDP_SEGMENT).
SMOKE = ([(1200, send, recv, None) for send, recv in PAIRS]
         + [(64, "gso", "gro_mmsg", None), (1472, "gso", "gro", None),
            (1200, "sendmmsg", "recvmmsg", 1000), (1200, "gso", "gro", 1000),
            (1200, "gso", "uring_gro", 1000),
            (8, "gso", "gro_mmsg", 129)])
FIELDS = {"impl", "send", "recv", "size", "sent", "received", "lost", "bad", "bytes", "seconds",
          "datagrams_per_s", "bytes_per_s", "max_segments", "send_calls", "recv_calls"}
SKIPPED_FIELDS = {"impl", "send", "recv", "size", "skipped"}
SEND_CALLS = {"sendto", "send", "sendmsg", "sendmmsg"}
# io_uring_enter: uring_gro's only call once its ring is set up (it submits and waits in one).
RECV_CALLS = {"recvfrom", "recv", "recvmsg", "recvmmsg", "io_uring_enter"}
TARGET_RATIO = 0.97


class Failure(Exception):
    pass


def command(path, cell, seconds, batch):
    size, send, recv, count = cell
    line = [path, "--send", send, "--recv", recv, "--size", str(size), "--seconds", str(seconds),
            "--batch", str(batch)]
    return line + (["--count", str(count)] if count else [])


def runs_in(impl, cell):
    """Whether program `impl` has the cell's modes."""
    return impl == "netkit" or cell[2] not in NETKIT_ONLY


def parse(impl, done):
    """The program's JSON line, checked: every field there, the right impl, nothing bad. A
    "skipped" line (the mode cannot run on this machine) is returned as it is."""
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise Failure(f"{impl} exited with {done.returncode}: {done.stdout.strip()} "
                      f"{done.stderr.strip()}")
    record = json.loads(lines[-1])
    if "skipped" in record and set(record) == SKIPPED_FIELDS and record["impl"] == impl:
        return record
    if set(record) != FIELDS:
        raise Failure(f"{impl}: fields {sorted(set(record) ^ FIELDS)} missing or unexpected")
    if record["impl"] != impl:
        raise Failure(f"{impl}: the program says it is {record['impl']!r}")
    if record["bad"]:
        raise Failure(f"{impl}: {record['bad']} bad datagrams")
    return record


def measure(impl, path, cell, seconds, batch):
    done = subprocess.run(command(path, cell, seconds, batch), capture_output=True, text=True,
                          timeout=seconds + 60)
    record = parse(impl, done)
    size, send, recv, count = cell
    if (record["size"], record["send"], record["recv"]) != (size, send, recv):
        raise Failure(f"{impl}: ran {record['size']} {record['send']} {record['recv']}, "
                      f"not {size} {send} {recv}")
    if "skipped" in record:
        return record
    if count and record["sent"] != count:
        raise Failure(f"{impl}: sent {record['sent']} of --count {count}")
    if record["received"] == 0:
        raise Failure(f"{impl}: nothing received in {size} {send} {recv}")
    return record


def strace_counts(path):
    """{syscall: calls} from a strace -c file."""
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
                counts[fields[-1]] = int(fields[3])
    return counts


def count_syscalls(impl, path, cell, batch):
    size, send, recv, _ = cell
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        # Under strace every call stops the thread twice; a bounded count keeps the run short.
        line = ["strace", "-f", "-c", "-o", out.name] + command(path, (size, send, recv, 20000),
                                                               2.0, batch)
        done = subprocess.run(line, capture_output=True, text=True, timeout=120)
        record = parse(impl, done)
        if "skipped" in record:
            return record
        counts = strace_counts(out.name)
    sends = sum(counts.get(name, 0) for name in SEND_CALLS)
    receives = sum(counts.get(name, 0) for name in RECV_CALLS)
    return {
        "impl": impl, "size": size, "send": send, "recv": recv, "sent": record["sent"],
        "received": record["received"],
        "send_syscalls": sends, "recv_syscalls": receives,
        "send_per_datagram": sends / max(record["sent"], 1),
        "recv_per_datagram": receives / max(record["received"], 1),
        "send_calls": record["send_calls"], "recv_calls": record["recv_calls"],
        "calls": {name: n for name, n in counts.items() if name in SEND_CALLS | RECV_CALLS},
    }


def median_spread(values):
    return statistics.median(values), min(values), max(values)


def summarize(records):
    """One row per cell and program, plus the paired netkit/C ratio."""
    records = [r for r in records if "skipped" not in r]
    impls = [i for i in ("c", "netkit") if any(r["impl"] == i for r in records)]
    cells = sorted({(r["size"], r["send"], r["recv"]) for r in records},
                   key=lambda c: (c[0], PAIRS.index(c[1:]) if c[1:] in PAIRS else len(PAIRS)))
    by = {}
    for r in records:
        by.setdefault((r["size"], r["send"], r["recv"], r["impl"]), []).append(r)
    rows = []
    for cell in cells:
        row = {"size": cell[0], "send": cell[1], "recv": cell[2]}
        for impl in impls:
            runs = by.get(cell + (impl,), [])
            if not runs:
                continue
            dps = median_spread([r["datagrams_per_s"] for r in runs])
            gbs = median_spread([r["bytes_per_s"] / 1e9 for r in runs])
            base = by.get((cell[0],) + BASE + (impl,))
            row[impl] = {
                "datagrams_per_s": dps[0], "datagrams_per_s_min": dps[1],
                "datagrams_per_s_max": dps[2], "gb_per_s": gbs[0], "gb_per_s_min": gbs[1],
                "gb_per_s_max": gbs[2],
                "loss_percent": statistics.median(100.0 * r["lost"] / max(r["sent"], 1)
                                                  for r in runs),
                "speedup_over_sendto_recvfrom": (
                    dps[0] / statistics.median(r["datagrams_per_s"] for r in base)
                    if base else None),
                "rounds": len(runs),
            }
        if "c" in row and "netkit" in row:
            c = {r.get("round", 0): r for r in by[cell + ("c",)]}
            pairs = [r["datagrams_per_s"] / c[r.get("round", 0)]["datagrams_per_s"]
                     for r in by[cell + ("netkit",)]
                     if r.get("round", 0) in c and c[r.get("round", 0)]["datagrams_per_s"] > 0]
            row["netkit_over_c"] = statistics.median(pairs) if pairs else None
        rows.append(row)
    return rows


def versus(records):
    """For each size and each pair of VERSUS: the netkit program's datagrams/s in the first
    cell over the second's, taken within each round, then the median and range."""
    rate = {(r["size"], r["send"], r["recv"], r.get("round", 0)): r["datagrams_per_s"]
            for r in records if r["impl"] == "netkit" and "skipped" not in r}
    found = []
    for size in sorted({key[0] for key in rate}):
        for mode, against in VERSUS:
            ratios = [rate[(size,) + mode + (n,)] / rate[(size,) + against + (n,)]
                      for n in sorted({key[3] for key in rate})
                      if (size,) + mode + (n,) in rate and rate.get((size,) + against + (n,))]
            if ratios:
                found.append({"size": size, "mode": "+".join(mode),
                              "against": "+".join(against), "rounds": len(ratios),
                              "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                              "ratio_max": max(ratios)})
    return found


def print_versus(found):
    if found:
        print("\nnetkit program, receive modes against each other (per-round ratio of "
              "datagrams/s, median (min-max)):")
    for v in found:
        print(f"  {v['size']:>5} B {v['mode']} / {v['against']}: {v['ratio']:.3f} "
              f"({v['ratio_min']:.3f}-{v['ratio_max']:.3f}), {v['rounds']} rounds")


def print_summary(rows):
    print(f"\n{'size':>5} {'send':<8} {'recv':<9} {'impl':<7} {'Mdgram/s (min-max)':>24} "
          f"{'GB/s (min-max)':>20} {'loss%':>6} {'x sendto+recvfrom':>17} {'netkit/c':>8}")
    for row in rows:
        first = True
        for impl in ("c", "netkit"):
            if impl not in row:
                continue
            s = row[impl]
            cell = (f"{row['size']:>5} {row['send']:<8} {row['recv']:<9}" if first
                    else " " * 24)
            first = False
            dps = (f"{s['datagrams_per_s'] / 1e6:7.3f} ({s['datagrams_per_s_min'] / 1e6:.3f}-"
                   f"{s['datagrams_per_s_max'] / 1e6:.3f})")
            gbs = f"{s['gb_per_s']:6.3f} ({s['gb_per_s_min']:.3f}-{s['gb_per_s_max']:.3f})"
            speedup = s["speedup_over_sendto_recvfrom"]
            speedup = f"{speedup:.2f}x" if speedup is not None else "-"
            ratio = ""
            if impl == "netkit" and row.get("netkit_over_c") is not None:
                ratio = f"{row['netkit_over_c']:.3f}"
            print(f"{cell} {impl:<7} {dps:>24} {gbs:>20} {s['loss_percent']:6.1f} "
                  f"{speedup:>17} {ratio:>8}")
    paired = [r for r in rows if r.get("netkit_over_c") is not None]
    if not paired:
        print("\nnetkit/C: no netkit runs to compare")
        return
    misses = [r for r in paired if r["netkit_over_c"] < TARGET_RATIO]
    if misses:
        print(f"\ncells below netkit/C {TARGET_RATIO}:")
        for r in misses:
            print(f"  {r['size']} B {r['send']}+{r['recv']}: {r['netkit_over_c']:.3f}")
    else:
        print(f"\nevery cell at netkit/C >= {TARGET_RATIO}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true")
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    mode.add_argument("--summarize", metavar="FILE")
    parser.add_argument("--c", metavar="PATH", help="udp_batch_c")
    parser.add_argument("--netkit", metavar="PATH", help="udp_batch_netkit")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--syscalls", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"instead of {SIZES}")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if args.summarize:
        records = json.load(open(args.summarize))["records"]
        print_summary(summarize(records))
        print_versus(versus(records))
        return 0
    if not (args.smoke or args.quick or args.full or args.syscalls):
        parser.error("one of --smoke, --quick, --full, --syscalls, --summarize is required")
    if not args.c or not os.path.exists(args.c):
        parser.error(f"--c: no udp_batch_c at {args.c!r}")

    print(f"machine: nproc {os.cpu_count()}, uname -r {platform.release()}, "
          f"{platform.machine()}")
    print(f"command: {shlex.join([sys.executable] + sys.argv)}")
    programs = {"c": args.c}
    if args.netkit and os.path.exists(args.netkit):
        programs["netkit"] = args.netkit
    elif args.netkit:
        print(f"netkit: {args.netkit} does not exist; running C only")
    else:
        print("netkit: --netkit not given; running C only")
    print("programs: " + ", ".join(f"{impl}={path}" for impl, path in programs.items()),
          flush=True)

    sizes = args.sizes or SIZES
    if args.smoke:
        cells, rounds, seconds = SMOKE, 1, 0.2
        if args.sizes:
            cells = [c for c in cells if c[0] in sizes]
    else:
        cells = [(size, send, recv, None) for size in sizes for send, recv in PAIRS]
        rounds, seconds = (9, 1.0) if args.full else (3, 0.5)
    names = list(programs)
    records = []
    try:
        for round_number in range(rounds if (args.smoke or args.quick or args.full) else 0):
            shift = round_number % len(cells)
            for position, cell in enumerate(cells[shift:] + cells[:shift]):
                order = names if (round_number + position) % 2 == 0 else names[::-1]
                for impl in (i for i in order if runs_in(i, cell)):
                    record = measure(impl, programs[impl], cell, seconds, args.batch)
                    record["round"] = round_number
                    records.append(record)
                    print(json.dumps(record), flush=True)
        syscalls = []
        if args.syscalls:
            print("\nsystem calls per datagram: strace -f -c counts the setup calls too (the probe "
                  "sendmsg, the receive that times out at the end); the measured phase is the "
                  "programs' own send_calls and recv_calls")
            print(f"{'':>31} {'strace -f -c':>21}   {'measured phase':>21}")
            print(f"{'size':>5} {'send':<8} {'recv':<9} {'impl':<7} {'send/dgram':>10} "
                  f"{'recv/dgram':>10}   {'send/dgram':>10} {'recv/dgram':>10}")
            for size, send, recv, _ in dict.fromkeys((c[0], c[1], c[2], None) for c in cells):
                for impl in (i for i in names if runs_in(i, (size, send, recv))):
                    row = count_syscalls(impl, programs[impl], (size, send, recv, None),
                                         args.batch)
                    syscalls.append(row)
                    if "skipped" in row:
                        print(f"{size:>5} {send:<8} {recv:<9} {impl:<7} skipped: "
                              f"{row['skipped']}", flush=True)
                        continue
                    print(f"{size:>5} {send:<8} {recv:<9} {impl:<7} "
                          f"{row['send_per_datagram']:10.4f} {row['recv_per_datagram']:10.4f}   "
                          f"{row['send_calls'] / max(row['sent'], 1):10.4f} "
                          f"{row['recv_calls'] / max(row['received'], 1):10.4f}", flush=True)
    except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"udp_batch: {e}", file=sys.stderr)
        return 1
    rows = summarize(records) if records else []
    found = versus(records)
    skipped = [r for r in records if "skipped" in r]
    if records and not args.smoke:
        print_summary(rows)
        print_versus(found)
    for r in dict.fromkeys((r["recv"], r["skipped"]) for r in skipped):
        print(f"skipped: {r[0]}: {r[1]}")
    if args.smoke:
        print(f"smoke: {len(records) - len(skipped)} runs, every datagram checked, none bad"
              + (f"; {len(skipped)} skipped" if skipped else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": [sys.executable] + sys.argv, "cpus": os.cpu_count(),
                       "kernel": platform.release(), "machine": platform.machine(),
                       "records": records, "summary": rows, "versus": found,
                       "syscalls": syscalls}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
