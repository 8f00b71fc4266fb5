#!/usr/bin/env python3
"""Runs example_http_file_server on a temporary directory and talks to it with Python's own
sockets (an independent peer): 200 connections opened at once, each then asking for one of
files of 0 bytes to 1.5 MiB and checking every byte and the Content-Length; a file in a
subdirectory; 404 for a missing file, a directory, a symbolic link (one pointing outside, one
pointing inside) and traversals with ".."; 400 for garbage and for a head over 8 KiB; 501 for
POST; an idle client closed at the server's 5 s deadline; SIGTERM ends it with status 0.
Every wait is bounded; nothing waits on time."""
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import tempfile

with tempfile.TemporaryDirectory() as top:
    root = os.path.join(top, "root")
    os.makedirs(os.path.join(root, "sub"))
    with open(os.path.join(top, "secret"), "wb") as f:
        f.write(b"outside the root\n")
    files = {
        "empty": b"",
        "small.txt": b"hello, netkit\n",
        "page.html": bytes((i * 31) % 251 for i in range(64 << 10)),
        "big.bin": bytes((i * 7 + i // 251) % 256 for i in range(3 << 19)),
        "sub/inner.txt": b"in a subdirectory\n",
    }
    for name, content in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(content)
    os.symlink(os.path.join(top, "secret"), os.path.join(root, "outside"))
    os.symlink("small.txt", os.path.join(root, "inside"))

    server = subprocess.Popen([sys.argv[1], "127.0.0.1:0", root], stdout=subprocess.PIPE,
                              text=True)
    try:
        first = server.stdout.readline().strip()
        host, _, port = first.rpartition(":")
        address = (host, int(port))
        assert host == "127.0.0.1" and int(port) > 0, first

        def connect():
            sock = socket.create_connection(address, timeout=30)
            sock.settimeout(30)
            return sock

        def read_all(sock):
            data = b""
            while chunk := sock.recv(1 << 16):
                data += chunk
            return data

        def exchange(sock, request):
            """Sends `request`, reads to end of stream: (status, headers, body)."""
            with sock:
                sock.sendall(request)
                data = read_all(sock)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            version, status, _ = lines[0].split(" ", 2)
            assert version == "HTTP/1.0", lines[0]
            headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            assert int(headers["content-length"]) == len(body), (headers, len(body))
            return int(status), headers, body

        def get(path):
            return exchange(connect(), f"GET {path} HTTP/1.0\r\nHost: test\r\n\r\n".encode())

        # 200 connections at once, then 200 requests in parallel over them.
        names = list(files)
        socks = [connect() for _ in range(200)]

        def fetch_one(index):
            name = names[index % len(names)]
            status, _, body = exchange(socks[index], f"GET /{name} HTTP/1.0\r\n\r\n".encode())
            assert status == 200, (name, status)
            assert body == files[name], (name, len(body), len(files[name]))
            return len(body)

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            total = sum(pool.map(fetch_one, range(200)))

        for path in ("/missing", "/sub", "/sub/", "/", "/outside", "/inside", "/../secret",
                     "/sub/../../secret", "/sub/../small.txt", "/./small.txt", "//small.txt",
                     "/small.txt/", "/%2e%2e/secret"):
            status, _, body = get(path)
            assert status == 404, (path, status)
            assert b"outside the root" not in body, path
        assert get("/small.txt?query=1")[2] == files["small.txt"]

        malformed = (b"garbage\r\n\r\n", b"GET /small.txt\r\n\r\n",
                     b"GET small.txt HTTP/1.0\r\n\r\n", b"GET /small.txt HTTP/2.0\r\n\r\n",
                     b"get /small.txt HTTP/1.0\r\n\r\n", b"GET /a\x01b HTTP/1.0\r\n\r\n",
                     b"GET  /small.txt HTTP/1.0\r\n\r\n",
                     b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 2000)  # a head over 8 KiB
        for request in malformed:
            status, _, _ = exchange(connect(), request)
            assert status == 400, (request[:40], status)
        assert exchange(connect(), b"POST /small.txt HTTP/1.0\r\n\r\n")[0] == 501

        # A client that sends nothing is closed at the idle deadline (5 s).
        with connect() as idle:
            assert idle.recv(1) == b""

        server.send_signal(signal.SIGTERM)
        rest, _ = server.communicate(timeout=30)
        assert server.returncode == 0, server.returncode
        assert rest.strip() == "shut down", rest
        print(f"{os.path.basename(sys.argv[1])} on {first}: 200 parallel requests ({total} "
              "bytes, every byte checked), 404s, 400s, a 501, the idle close and SIGTERM: all "
              "as expected")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
