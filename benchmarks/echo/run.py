#!/usr/bin/env python3
"""The echo benchmark: the same C load generator against each server, interleaved, in rounds.

For every cell (connections x message size x ping-pong or 16 pipelined) and every round, each
server is started pinned to CPU 0, the load generator runs pinned to CPU 1, and the server's own
CPU time (user and system, from wait4(2) when it exits) is divided by the requests it
echoed: on two cores the kernel dominates and throughput alone cannot tell servers apart, so CPU
per request is the primary figure. Servers take HOST:PORT, print their endpoint first and stop on
SIGTERM.

Every cell starts with a warm-up on the same connections (WARMUP below: every connection's first
requests, the first frames and buffers a server allocates), after which the load generator lets
every echo come back and pauses; the measured phase follows, and ends the same way. Requests per
second and latencies are the measured phase's; CPU per request is the server's whole life over
all the requests it echoed, warm-up included. A server that catches SIGUSR1 (netkit's, linked
with count_allocations.cpp) writes its allocation count so far when it gets one: it is read in
both pauses, and `allocations_per_request` is the difference over the measured requests.

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
import threading

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


def counts_allocations(process):
    """True when the server catches SIGUSR1, that is, reports its allocations on it."""
    with open(f"/proc/{process.pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return (int(line.split()[1], 16) >> (signal.SIGUSR1 - 1)) & 1 == 1
    return False


def allocations(process):
    process.send_signal(signal.SIGUSR1)
    line = process.stdout.readline()
    if not line.startswith("allocations "):
        raise RuntimeError(f"server answered SIGUSR1 with {line!r}")
    return int(line.split()[1])


def warmup_requests(connections, depth):
    return max(1000, 2 * connections * depth)


def load(args, host, port, connections, size, depth, seconds, limit=None):
    command = [args.load, host, port, str(connections), str(size), str(depth), str(seconds)]
    if limit:
        command.append(str(limit))
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stdout} {done.stderr}")
    return json.loads(done.stdout)


def warm_load(args, server, host, port, connections, size, depth, seconds, limit=None):
    """The load with a warm-up; the server's allocations (if it counts them) are read while the
    load generator pauses, after the warm-up and after the measured phase."""
    command = [args.load, host, port, str(connections), str(size), str(depth), str(seconds),
               str(limit or 0), str(warmup_requests(connections, depth))]
    generator = subprocess.Popen(pinned(1, command), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, generator.kill)
    watchdog.start()
    counting = counts_allocations(server)
    try:
        readings = []
        for expected in ("warm", "{"):
            line = generator.stdout.readline()
            if not line.startswith(expected):
                raise RuntimeError(f"load generator said {line!r}: {generator.stderr.read()}")
            if counting:
                readings.append(allocations(server))
            generator.stdin.write("\n")
            generator.stdin.flush()
        result = json.loads(line)
        if generator.wait() != 0:
            raise RuntimeError(f"load generator failed: {line} {generator.stderr.read()}")
    finally:
        watchdog.cancel()
        if generator.poll() is None:
            generator.kill()
            generator.wait()
    if counting:
        result["allocations"] = readings[1] - readings[0]
    return result


def measure(args, name, server, cell, seconds, limit=None):
    connections, size, mode = cell
    depth = 16 if mode == "pipelined" else 1
    process, host, port = start(server)
    # The server's whole life is measured: starting and stopping cost microseconds, the run
    # seconds, and a server that closes its connections at exit pays for that in the run too.
    try:
        busy0 = cpu_busy()
        result = warm_load(args, process, host, port, connections, size, depth, seconds, limit)
        busy1 = cpu_busy()
    finally:
        user, system = stop(process)
    echoed = max(result["requests"] + result["warmup_requests"], 1)
    record = {
        "server": name, "connections": connections, "size": size, "mode": mode,
        "requests_per_s": result["requests_per_s"], "p50_us": result["p50_us"],
        "p99_us": result["p99_us"], "requests": result["requests"], "errors": result["errors"],
        "warmup_requests": result["warmup_requests"],
        "server_cpu_us_per_request": (user + system) * 1e6 / echoed,
        "server_user_us_per_request": user * 1e6 / echoed,
    }
    if "allocations" in result:
        record["allocations"] = result["allocations"]
        record["allocations_per_request"] = result["allocations"] / max(result["requests"], 1)
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


# The servers in the order their columns appear, and the comparisons summarize() prints: each
# subject against its baselines (c_idle, the C server with netkit's idle timer, is the
# like-for-like baseline when present; asio_co is the like-for-like peer of netkit_co).
ORDER = ("netkit", "netkit_co", "netkit_uring", "c", "c_idle", "c_uring", "asio", "asio_co",
         "asio_uring")
COMPARISONS = (("netkit", ("c", "c_idle", "asio")),
               ("netkit_co", ("netkit", "c", "c_idle", "asio_co")),
               ("netkit_uring", ("c_uring", "c", "netkit_co")),
               ("asio_co", ("asio",)),
               ("asio_uring", ("asio",)))


def summarize(records):
    """Medians over rounds per cell and server, then the median of each per-round ratio."""
    cells = sorted({(r["connections"], r["size"], r["mode"]) for r in records})
    present = [s for s in ORDER if any(r["server"] == s for r in records)]
    present += sorted({r["server"] for r in records} - set(present))
    rounds = {}
    for r in records:
        key = (r["connections"], r["size"], r["mode"], r.get("round", 0))
        rounds.setdefault(key, {})[r["server"]] = r

    def per_cell(cell):
        return [v for k, v in rounds.items() if k[:3] == cell]

    def median(cell, field, server):
        values = [p[server][field] for p in per_cell(cell) if field in p.get(server, {})]
        return statistics.median(values) if values else float("nan")

    def ratio(cell, field, a, b):
        values = [p[a][field] / p[b][field] for p in per_cell(cell)
                  if a in p and b in p and p[b][field] > 0]
        return statistics.median(values) if values else float("nan")

    def table(title, columns, value):
        print(f"\n{title}")
        print(f"{'cell':<28}" + "".join(f"{c:>{max(len(c), 7) + 1}}" for c in columns))
        for cell in cells:
            print(f"{cell[0]:>5} conn {cell[1]:>5} B {cell[2]:<9}"
                  + "".join(f"{value(cell, c):>{max(len(c), 7) + 1}}" for c in columns))

    table("server CPU us per request (median)", present,
          lambda cell, s: f"{median(cell, 'server_cpu_us_per_request', s):.2f}")
    table("thousands of requests per second (median)", present,
          lambda cell, s: f"{median(cell, 'requests_per_s', s) / 1e3:.1f}")
    table("p99 latency us (median)", present,
          lambda cell, s: f"{median(cell, 'p99_us', s):.0f}")
    counting = [s for s in present if any("allocations" in r for r in records if r["server"] == s)]
    if counting:
        table("allocations per request, measured phase (median)", counting,
              lambda cell, s: f"{median(cell, 'allocations_per_request', s):.4f}")
    for subject, baselines in COMPARISONS:
        against = [b for b in baselines if b in present]
        if subject not in present or not against:
            continue
        fields = (("cpu", "server_cpu_us_per_request"), ("user", "server_user_us_per_request"),
                  ("rps", "requests_per_s"))
        columns = [f"{label}/{b}" for b in against for label, _ in fields]
        pairs = {f"{label}/{b}": (b, field) for b in against for label, field in fields}
        table(f"{subject} / each of {', '.join(against)}: cpu, user cpu per request and requests/s"
              f" (medians of per-round ratios)", columns,
              lambda cell, c: f"{ratio(cell, pairs[c][1], subject, pairs[c][0]):.3f}")


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
