#!/usr/bin/env python3
"""The echo benchmark: the same C load generator against each server, interleaved, in rounds.

For every cell (connections x message size x ping-pong or 16 pipelined) and every round, each
server is started pinned to CPU 0, the load generator runs pinned to CPU 1, and the server's own
CPU time (user and system, from wait4(2) when it exits) is divided by the requests it
echoed: on two cores the kernel dominates and throughput alone cannot tell servers apart, so CPU
per request is the primary figure. Servers take HOST:PORT, print their endpoint first and stop on
SIGTERM.

Usage:
  run.py (--quick | --full | --smoke) --load ECHO_LOAD NAME=SERVER... [--json FILE] [--syscalls]
  run.py --summarize FILE
--quick: every cell, 1 round of 1 s (under a minute for three servers); --full: 3 rounds of 2 s;
--smoke: two small cells, a few hundred requests, to check that everything still runs.
--syscalls: also count each server's system calls per request with strace -c (a separate short
run per cell, since strace slows the server)."""
import argparse
import itertools
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile

def cpu_busy():
    """Per-CPU (busy, total) jiffies from /proc/stat."""
    result = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                values = [int(v) for v in values]
                idle = values[3] + values[4]
                result[name] = (sum(values) - idle, sum(values))
    return result


def pinned(cpu, command):
    return (["taskset", "-c", str(cpu)] if os.cpu_count() >= 2 else []) + command


def start(server):
    # NAME=PATH or NAME="PATH ARGS...": the endpoint goes first, the rest after it
    # (c_idle="./echo_c_server 10000" is the C server with the idle timer netkit's has).
    program, *rest = shlex.split(server)
    process = subprocess.Popen(pinned(0, [program, "127.0.0.1:0", *rest]),
                               stdout=subprocess.PIPE, text=True)
    endpoint = process.stdout.readline().strip()
    host, _, port = endpoint.rpartition(":")
    return process, host, port


def stop(process):
    """Stops a server and returns its (user, system) CPU seconds from wait4(2): microsecond
    resolution, where /proc/PID/stat counts in clock ticks of 10 ms."""
    process.send_signal(signal.SIGTERM)
    process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime, usage.ru_stime


def load(args, host, port, connections, size, depth, seconds, limit=None):
    command = [args.load, host, port, str(connections), str(size), str(depth), str(seconds)]
    if limit:
        command.append(str(limit))
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stdout} {done.stderr}")
    return json.loads(done.stdout)


def measure(args, name, server, cell, seconds, limit=None):
    connections, size, mode = cell
    depth = 16 if mode == "pipelined" else 1
    process, host, port = start(server)
    # The server's whole life is measured: starting and stopping cost microseconds, the run
    # seconds, and a server that closes its connections at exit pays for that in the run too.
    try:
        busy0 = cpu_busy()
        result = load(args, host, port, connections, size, depth, seconds, limit)
        busy1 = cpu_busy()
    finally:
        user1, system1 = stop(process)
    user0 = system0 = 0.0
    requests = max(result["requests"], 1)
    record = {
        "server": name, "connections": connections, "size": size, "mode": mode,
        "requests_per_s": result["requests_per_s"], "p50_us": result["p50_us"],
        "p99_us": result["p99_us"], "requests": result["requests"], "errors": result["errors"],
        "server_cpu_us_per_request": ((user1 - user0) + (system1 - system0)) * 1e6 / requests,
        "server_user_us_per_request": (user1 - user0) * 1e6 / requests,
    }
    for cpu in ("cpu0", "cpu1"):
        if cpu in busy0:
            busy = busy1[cpu][0] - busy0[cpu][0]
            total = busy1[cpu][1] - busy0[cpu][1]
            record[f"{cpu}_busy"] = busy / total if total else 0.0
    return record


def count_syscalls(args, name, server, cell):
    connections, size, mode = cell
    depth = 16 if mode == "pipelined" else 1
    process, host, port = start(server)
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out.name, "-p", str(process.pid)],
                                  stderr=subprocess.DEVNULL)
        try:
            result = load(args, host, port, connections, size, depth, 2.0, 100000)
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=30)
            stop(process)
        total = 0
        for line in out.read().splitlines():
            if line.strip().endswith("total"):
                total = int(line.split()[3])
    return total / max(result["requests"], 1)


def summarize(records):
    """Median over rounds of each per-round ratio, per cell."""
    cells = sorted({(r["connections"], r["size"], r["mode"]) for r in records})
    rounds = {}
    for r in records:
        key = (r["connections"], r["size"], r["mode"], r.get("round", 0))
        rounds.setdefault(key, {})[r["server"]] = r
    # c_idle, the C server with netkit's idle timer, is the like-for-like baseline when present.
    idle = any(r["server"] == "c_idle" for r in records)
    print(f"{'cell':<26} {'cpu/req us (netkit c asio)':>30} {'netkit/c cpu':>12} "
          f"{'user':>6} {'rps':>6} {'netkit/asio cpu':>15} {'rps':>6} {'p99 us n/c/a':>16}"
          + (f" {'netkit/c_idle cpu':>17} {'user':>6} {'rps':>6}" if idle else ""))
    for cell in cells:
        per = [v for k, v in rounds.items() if k[:3] == cell]

        def median(field, server):
            values = [p[server][field] for p in per if server in p]
            return statistics.median(values) if values else float("nan")

        def ratio(field, a, b):
            values = [p[a][field] / p[b][field] for p in per
                      if a in p and b in p and p[b][field] > 0]
            return statistics.median(values) if values else float("nan")

        cpu = " ".join(f"{median('server_cpu_us_per_request', s):6.2f}"
                       for s in ("netkit", "c", "asio"))
        p99 = "/".join(f"{median('p99_us', s):.0f}" for s in ("netkit", "c", "asio"))
        print(f"{cell[0]:>5} conn {cell[1]:>5} B {cell[2]:<9} {cpu:>30} "
              f"{ratio('server_cpu_us_per_request', 'netkit', 'c'):12.3f} "
              f"{ratio('server_user_us_per_request', 'netkit', 'c'):6.3f} "
              f"{ratio('requests_per_s', 'netkit', 'c'):6.3f} "
              f"{ratio('server_cpu_us_per_request', 'netkit', 'asio'):15.3f} "
              f"{ratio('requests_per_s', 'netkit', 'asio'):6.3f} {p99:>16}"
              + (f" {ratio('server_cpu_us_per_request', 'netkit', 'c_idle'):17.3f} "
                 f"{ratio('server_user_us_per_request', 'netkit', 'c_idle'):6.3f} "
                 f"{ratio('requests_per_s', 'netkit', 'c_idle'):6.3f}" if idle else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    mode.add_argument("--smoke", action="store_true")
    mode.add_argument("--summarize", metavar="FILE")
    parser.add_argument("--load")
    parser.add_argument("--json")
    parser.add_argument("--syscalls", action="store_true")
    parser.add_argument("servers", nargs="*", help="NAME=PATH or NAME='PATH ARGS'")
    args = parser.parse_args()
    if args.summarize:
        summarize(json.load(open(args.summarize))["records"])
        return 0
    servers = dict(s.split("=", 1) for s in args.servers)
    if args.smoke:
        cells, rounds, seconds, limit = [(1, 64, "pingpong"), (64, 4096, "pipelined")], 1, 2, 300
    else:
        cells = list(itertools.product([1, 64, 1000], [64, 4096], ["pingpong", "pipelined"]))
        rounds, seconds, limit = (3, 2.0, None) if args.full else (1, 1.0, None)
    records = []
    for round_number in range(rounds):
        for index, cell in enumerate(cells):
            names = list(servers)
            # Interleaved: the order of the servers rotates from cell to cell and round to round.
            shift = (index + round_number) % len(names)
            for name in names[shift:] + names[:shift]:
                record = measure(args, name, servers[name], cell, seconds, limit)
                record["round"] = round_number
                records.append(record)
                print(json.dumps(record), flush=True)
                if record["errors"]:
                    print(f"{name}: {record['errors']} errors in cell {cell}", file=sys.stderr)
                    return 1
    syscalls = {}
    if args.syscalls:
        for cell in cells:
            for name, server in servers.items():
                syscalls[f"{name} {cell[0]} {cell[1]} {cell[2]}"] = count_syscalls(
                    args, name, server, cell)
                print(f"syscalls/request {name} {cell}: "
                      f"{syscalls[f'{name} {cell[0]} {cell[1]} {cell[2]}']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "kernel": platform.release(), "cpus": os.cpu_count(),
                       "records": records, "syscalls_per_request": syscalls}, f, indent=1)
    if not args.smoke:
        summarize(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
