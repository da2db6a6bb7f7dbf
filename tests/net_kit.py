"""Probing sockets from the outside: a free port to listen on, whether a port answers,
whether a process holds a connection to a port. One implementation of each, for the tests
and the benchmarks (bench/harness.py imports this module)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on (host, port)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def holds_connection(pid: int, port: int) -> bool:
    """Whether process `pid` holds a TCP connection to remote `port` (Linux /proc): to
    PostgreSQL once its pool is up; to a provider once it sent something (its HTTP client
    keeps the connection alive)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                return True
    return False


def ask_health(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> str:
    """`GET /healthz` on a new connection, as a load balancer's check does: the status
    code ("200"), "closed" when the server hung up without a word, "timeout", or the name
    of the socket error."""
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            answer = sock.recv(64)
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return type(exc).__name__
    if answer.startswith(b"HTTP/1.1 "):
        return answer[9:12].decode("ascii", "replace")
    return repr(answer[:12]) if answer else "closed"
