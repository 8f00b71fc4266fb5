#!/usr/bin/env python3
"""Runs example_echo_server the way a supervisor would and talks to it with Python's own sockets,
an independent peer: reads the endpoint from its first line, checks echoes (small, 1 MiB while
reading concurrently, a half-close), that an idle client is closed at its deadline, and that
SIGTERM shuts it down cleanly. Every wait is bounded. Arguments after the server's path are
passed to it (co_echo_server.test.py runs the same checks against the coroutine server)."""
import os
import signal
import socket
import subprocess
import sys
import threading

server = subprocess.Popen([sys.argv[1], "127.0.0.1:0", "2000", *sys.argv[2:]],
                          stdout=subprocess.PIPE, text=True)
try:
    first = server.stdout.readline().strip()
    host, _, port = first.rpartition(":")
    address = (host, int(port))
    assert host == "127.0.0.1" and int(port) > 0, first

    def client():
        sock = socket.create_connection(address, timeout=10)
        sock.settimeout(10)
        return sock

    def receive_exact(sock, size):
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            assert chunk, f"end of stream after {len(data)} of {size} bytes"
            data += chunk
        return data

    with client() as sock:
        sock.sendall(b"hello, netkit")
        assert receive_exact(sock, 13) == b"hello, netkit"

    # 1 MiB, sent by another thread while this one reads: every byte back, in order.
    payload = bytes((i * 131 + 7) % 256 for i in range(1 << 20))
    with client() as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = receive_exact(sock, len(payload))
        sender.join(10)
        assert echoed == payload

    # Half-close: what was sent before the FIN comes back, then end of stream.
    with client() as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert receive_exact(sock, 10) == b"last words"
        assert sock.recv(1) == b""

    # Idle: a client that sends nothing is closed at its idle deadline (2 s here: long enough
    # that a loaded machine serves the clients above before any of them is idle that long).
    with client() as sock:
        assert sock.recv(1) == b""

    # SIGTERM while an echo is under way: a client that sends 8 MiB and stops reading after the
    # first KiB leaves the server with an echo it cannot finish (its writes back are blocked).
    # The drain finishes that echo as the client reads again, then ends the stream: the client
    # gets a prefix of what it sent, exactly, then end of stream. An idle client gets its FIN.
    # Built before connecting: making 8 MiB in Python takes seconds on a loaded machine, long
    # enough for the server to close a connection that has sent nothing yet as idle.
    big = bytes((i * 17 + 3) % 256 for i in range(8 << 20))
    idle = client()
    busy = client()

    def send_big():
        try:
            busy.sendall(big)
        except OSError:
            pass  # the server stops reading at the shutdown: the rest is refused, not lost

    sending = threading.Thread(target=send_big)
    sending.start()
    first_kib = receive_exact(busy, 1024)
    assert first_kib == big[:1024]

    server.send_signal(signal.SIGTERM)
    echoed = bytearray(first_kib)
    try:
        while True:
            chunk = busy.recv(1 << 16)
            if not chunk:
                break
            echoed += chunk
    except ConnectionResetError:
        pass  # data the server never read is discarded with a reset, after the echo and FIN
    assert len(echoed) > 1024 and echoed == big[:len(echoed)], len(echoed)
    assert idle.recv(1) == b""
    sending.join(10)
    idle.close()
    busy.close()
    rest, _ = server.communicate(timeout=10)
    assert server.returncode == 0, server.returncode
    assert rest.strip() == "shut down", rest
    print(f"{os.path.basename(sys.argv[1])} on {first}: echoes, half-close, idle close, and a SIGTERM that finished "
          f"an echo under way ({len(echoed)} bytes) all as expected")
finally:
    if server.poll() is None:
        server.kill()
        server.wait()
