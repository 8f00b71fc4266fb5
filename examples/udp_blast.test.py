#!/usr/bin/env python3
"""Runs example_udp_blast against Python's own sockets, a peer independent of netkit, both ways:
Python receives what the netkit sender segmented (GSO or sendmmsg), checking every datagram's
size, sequence and pattern; Python sends datagrams one by one to the netkit receiver, which must
count them all, well formed. Then netkit to netkit with no argument. Every wait is bounded, and
no count is larger than the default receive buffer holds, so nothing depends on privileges."""
import socket
import struct
import subprocess
import sys
import threading

program = sys.argv[1]
SO_RCVBUFFORCE = 33


def datagram(sequence, size):
    head = struct.pack("<Q", sequence)
    return head + bytes((sequence + i) & 0xFF for i in range(8, size))


# 1. netkit sends 150 datagrams of 1000 bytes (several segmented sends); Python receives them on a
# thread of its own while they are sent and checks each one. 150 fit the smallest receive
# buffer the kernel allows by default even if that thread falls behind.
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    receiver.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
except PermissionError:
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
receiver.bind(("127.0.0.1", 0))
receiver.settimeout(10)
port = receiver.getsockname()[1]
arrived = []


def collect():
    try:
        while len(arrived) < 150:
            arrived.append(receiver.recv(65536))
    except socket.timeout:
        pass


collector = threading.Thread(target=collect)
collector.start()
sent = subprocess.run([program, "send", f"127.0.0.1:{port}", "150", "1000"],
                      capture_output=True, text=True, timeout=30)
collector.join()
assert sent.returncode == 0, sent.stderr
assert sent.stdout.startswith("sent 150 datagrams, 150000 bytes ("), sent.stdout
assert len(arrived) == 150, f"{len(arrived)} of 150 datagrams arrived"
for sequence, data in enumerate(arrived):
    assert data == datagram(sequence, 1000), f"datagram {sequence} differs"
receiver.setblocking(False)
try:
    extra = receiver.recv(65536)
    raise AssertionError(f"a datagram too many: {extra[:8]!r}")
except BlockingIOError:
    pass
receiver.close()

# 2. Python sends 150 datagrams of assorted sizes one by one; the netkit receiver counts them.
server = subprocess.Popen([program, "receive", "127.0.0.1:0", "150"], stdout=subprocess.PIPE,
                          text=True)
try:
    first = server.stdout.readline().strip()
    host, _, port = first.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0, first
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    total = 0
    for sequence in range(150):
        payload = datagram(sequence, 8 + (sequence * 37) % 1400)
        total += len(payload)
        sender.sendto(payload, (host, int(port)))
    out, _ = server.communicate(timeout=30)
    assert server.returncode == 0, out
    assert f"received 150 datagrams, {total} bytes, 0 malformed" in out, out
finally:
    if server.poll() is None:
        server.kill()

# 3. Both ends netkit, on loopback.
both = subprocess.run([program], capture_output=True, text=True, timeout=60)
assert both.returncode == 0, both.stdout + both.stderr
print(sent.stdout + out + both.stdout, end="")
