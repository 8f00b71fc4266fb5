#!/usr/bin/env python3
"""What one received datagram costs the receiver thread, mode against mode, netkit program only.

Datagrams per second on a shared machine say more about the neighbours than about the receive
path (run.py's rates moved 2x between rounds of one cell while other jobs ran). This measures
what a receive mode itself spends: each run sends a fixed --count of datagrams with gso, and the
receiver thread's CPU time (user and system, /proc/PID/task/TID/schedstat, read every 2 ms until
the program exits; the receiver is the first thread udp_batch_netkit starts, the sender the
second) is divided by the datagrams it received. With perf, the receive system calls
(recvfrom, recvmsg, recvmmsg, io_uring_enter) are counted in the kernel for the same run, without
slowing it as strace does. Rounds rotate the order of the modes; each figure is the median of the
rounds with its range, and the ratios are taken within each round.

Usage: receiver_cost.py --netkit UDP_BATCH_NETKIT [--modes recvmmsg gro gro_mmsg uring_gro]
                        [--rounds 9] [--count 1000000] [--size 1200] [--json FILE]"""
import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RECEIVE_EVENTS = ["syscalls:sys_enter_recvfrom", "syscalls:sys_enter_recvmsg",
                  "syscalls:sys_enter_recvmmsg", "syscalls:sys_enter_io_uring_enter"]
VERSUS = [("uring_gro", "gro_mmsg"), ("uring_gro", "gro"), ("gro_mmsg", "gro")]


def perf_works():
    if not shutil.which("perf"):
        return False
    done = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(RECEIVE_EVENTS), "--", "true"],
                          capture_output=True, text=True)
    return done.returncode == 0


def program_pid(launched, under_perf):
    """The benchmark's pid: the launched process, or perf's child."""
    if not under_perf:
        return launched.pid
    path = f"/proc/{launched.pid}/task/{launched.pid}/children"
    while launched.poll() is None:
        try:
            with open(path) as f:
                children = f.read().split()
            if children:
                return int(children[0])
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return None


def one_run(netkit, mode, size, count, use_perf):
    command = [netkit, "--send", "gso", "--recv", mode, "--size", str(size), "--seconds", "600",
               "--count", str(count)]
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as counts_file:
        if use_perf:
            command = ["perf", "stat", "-x,", "-o", counts_file.name, "-e",
                       ",".join(RECEIVE_EVENTS), "--"] + command
        launched = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        pid = program_pid(launched, use_perf)
        ran = {}  # tid -> ns on CPU, last read
        while pid is not None and launched.poll() is None:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        ran[int(tid)] = int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.002)
        out, _ = launched.communicate()
        if launched.returncode != 0:
            raise SystemExit(f"receiver_cost: {shlex.join(command)} exited with "
                             f"{launched.returncode}")
        calls = None
        if use_perf:
            calls = sum(int(line.split(",")[0]) for line in counts_file
                        if line.count(",") > 2 and line.split(",")[2] in RECEIVE_EVENTS)
    record = json.loads(out.strip().splitlines()[-1])
    if "skipped" in record:
        return record
    threads = sorted(tid for tid in ran if tid != pid)
    if len(threads) < 2 or record["bad"] or record["received"] == 0:
        raise SystemExit(f"receiver_cost: {mode}: threads {threads}, record {record}")
    record["receiver_ns_per_datagram"] = ran[threads[0]] / record["received"]
    record["sender_ns_per_datagram"] = ran[threads[1]] / record["sent"]
    if calls is not None:
        record["receive_syscalls_per_datagram"] = calls / record["received"]
    return record


def spread(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--netkit", required=True, metavar="PATH")
    parser.add_argument("--modes", nargs="+", default=["recvmmsg", "gro", "gro_mmsg",
                                                        "uring_gro"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--count", type=int, default=1000000)
    parser.add_argument("--size", type=int, default=1200)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    use_perf = perf_works()
    print(f"machine: nproc {os.cpu_count()}, uname -r {platform.release()}, "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    print(f"command: {shlex.join([sys.executable] + sys.argv)}")
    print(f"receive system calls: {'perf stat' if use_perf else 'not counted (no usable perf)'}",
          flush=True)
    records = []
    for round_number in range(args.rounds):
        shift = round_number % len(args.modes)
        for mode in args.modes[shift:] + args.modes[:shift]:
            record = one_run(args.netkit, mode, args.size, args.count, use_perf)
            record["round"] = round_number
            records.append(record)
            print(json.dumps(record), flush=True)
    measured = [r for r in records if "skipped" not in r]
    print(f"\nload average at the end: {open('/proc/loadavg').read().split()[0]}")
    print(f"{'recv':<10} {'receiver ns/dgram (min-max)':>28} {'sender ns/dgram':>16} "
          f"{'recv calls/dgram':>17} {'Mdgram/s (min-max)':>22} {'loss%':>6}")
    summary = {}
    for mode in args.modes:
        runs = [r for r in measured if r["recv"] == mode]
        if not runs:
            print(f"{mode:<10} skipped")
            continue
        rx = spread([r["receiver_ns_per_datagram"] for r in runs])
        tx = statistics.median(r["sender_ns_per_datagram"] for r in runs)
        rate = spread([r["datagrams_per_s"] / 1e6 for r in runs])
        loss = statistics.median(100 * r["lost"] / r["sent"] for r in runs)
        calls = ([r["receive_syscalls_per_datagram"] for r in runs]
                 if use_perf else None)
        summary[mode] = {"receiver_ns_per_datagram": rx, "sender_ns_per_datagram": tx,
                         "datagrams_per_s_millions": rate, "loss_percent": loss,
                         "receive_syscalls_per_datagram": spread(calls) if calls else None}
        calls_text = f"{statistics.median(calls):.5f}" if calls else "-"
        print(f"{mode:<10} {rx[0]:9.1f} ({rx[1]:.1f}-{rx[2]:.1f}) {tx:16.1f} {calls_text:>17} "
              f"{rate[0]:9.3f} ({rate[1]:.3f}-{rate[2]:.3f}) {loss:6.1f}")
    ratios = []
    by = {(r["recv"], r["round"]): r for r in measured}
    for mode, against in VERSUS:
        pairs = [by[(mode, n)]["receiver_ns_per_datagram"] /
                 by[(against, n)]["receiver_ns_per_datagram"]
                 for n in range(args.rounds) if (mode, n) in by and (against, n) in by]
        if pairs:
            found = spread(pairs)
            ratios.append({"mode": mode, "against": against, "ratio": found})
            print(f"receiver CPU per datagram, {mode} / {against}: {found[0]:.3f} "
                  f"({found[1]:.3f}-{found[2]:.3f}), {len(pairs)} rounds")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": [sys.executable] + sys.argv, "cpus": os.cpu_count(),
                       "kernel": platform.release(), "records": records, "summary": summary,
                       "ratios": ratios}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
