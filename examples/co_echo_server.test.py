#!/usr/bin/env python3
"""The coroutine echo server, on its epoll engine unless an --engine is given, passes every check of echo_server.test.py:
echoes, a half-close, the idle close, and a SIGTERM that drains it and ends it with status 0.
Arguments after the server's path go to the server (ctest runs it once more with --threads 2:
then the kernel spreads the clients over two loops, and the SIGTERM drains both)."""
import pathlib
import runpy
import sys

if not any(arg.startswith("--engine=") for arg in sys.argv):
    sys.argv.append("--engine=epoll")
runpy.run_path(str(pathlib.Path(__file__).with_name("echo_server.test.py")), run_name="__main__")
