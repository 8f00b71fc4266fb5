#!/usr/bin/env python3
"""Runs example_fetch against Python's own HTTP server (http.server, an independent peer) on
127.0.0.1, port 0: files of 0 bytes, a few bytes and 1.5 MiB come back byte for byte; a 404 is
a failure with the status line as its message; a first address that refuses (127.0.0.2, its
port held by a socket bound but not listening, so that nothing can answer there) makes fetch
go on to the next one; an address list where every address refuses fails with exit status 1.
Every run is bounded; nothing waits on time."""
import functools
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading

fetch = sys.argv[1]


class quiet_handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def run(*args):
    return subprocess.run([fetch, *args], capture_output=True, timeout=60)


with tempfile.TemporaryDirectory() as root:
    files = {
        "empty": b"",
        "hello.txt": b"hello, netkit\n",
        "big.bin": bytes((i * 7 + i // 251) % 256 for i in range(3 << 19)),
    }
    for name, content in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(content)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(quiet_handler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])
    try:
        for name, content in files.items():
            done = run("127.0.0.1", port, "/" + name)
            assert done.returncode == 0, (name, done.returncode, done.stderr)
            assert done.stdout == content, (name, len(done.stdout), len(content))

        done = run("127.0.0.1", port, "/missing")
        assert done.returncode == 1 and done.stdout == b"", (done.returncode, done.stdout)
        assert b"404" in done.stderr, done.stderr

        # 127.0.0.2 is loopback too, but the server listens on 127.0.0.1 only; the port is held
        # there by a socket that never listens, so connecting to it is refused, every time.
        with socket.socket() as holder:
            holder.bind(("127.0.0.2", int(port)))
            done = run("127.0.0.2,127.0.0.1", port, "/hello.txt")
            assert done.returncode == 0, (done.returncode, done.stderr)
            assert done.stdout == files["hello.txt"], done.stdout
            assert b"127.0.0.2" in done.stderr and b"refused" in done.stderr, done.stderr

            done = run("127.0.0.2", port, "/hello.txt")
            assert done.returncode == 1 and done.stdout == b"", (done.returncode, done.stdout)
            assert b"no address" in done.stderr, done.stderr

        assert run().returncode == 2
    finally:
        server.shutdown()
        server.server_close()
print(f"{os.path.basename(fetch)}: bodies of 0, 14 and {len(files['big.bin'])} bytes, a 404, a "
      "refused first address and a refusing only one: all as expected")
