"""Slow clients against one server process: does `/healthz` keep answering?

    .venv/bin/python bench/slowloris.py --server convodesk      # 3,000 slow heads, 30 s
    .venv/bin/python bench/slowloris.py --server uvicorn         # the same app, plain uvicorn
    .venv/bin/python bench/slowloris.py --server granian         # pip install granian first
    .venv/bin/python bench/slowloris.py --server hypercorn       # pip install hypercorn first
    .venv/bin/python bench/slowloris.py --mode body              # slow bodies instead of heads

A fresh bench database; the server runs with RLIMIT_NOFILE `--nofile` (1,024: a common
default) and no SMTP listener. This process raises its own file limit and, on loopback
only, keeps `--connections` slow connections open for `--seconds`: each sends the start of
a request and then one byte every `--interval` seconds (`--mode head`: header bytes that
never end the head; `--mode body`: a complete head announcing a 1 MB body, then the body a
byte at a time). When the server closes one, another is opened in its place, as an
attacker would. Meanwhile a prober asks `GET /healthz` on a new connection every 0.2 s
(2 s timeout). Printed: the health checks' success rate and latency, and how long the
server let slow connections live (their lifetime from connect to the server's close).
It stops by itself after `--seconds` (plus the server's start and stop).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    SERVER_KINDS,
    Server,
    _children,
    ask_health,
    cli,
    drop_database,
    env_for,
    fresh_database,
    percentile,
)

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Slow: "
BODY = (
    b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\n\r\n{"
)


class Attack:
    def __init__(self, port: int, mode: str, interval: float, until: float) -> None:
        self.port = port
        self.start = HEAD if mode == "head" else BODY
        self.interval = interval
        self.until = until
        self.opened = 0
        self.failed_connects = 0
        self.open_now = 0
        self.max_open = 0
        self.lifetimes: list[float] = []
        """Seconds from connect to the server's close, for each connection it closed."""

    async def one(self) -> None:
        """One slow client; when the server drops it, a new one takes its place."""
        while time.monotonic() < self.until:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), 5
                )
            except (OSError, TimeoutError):
                self.failed_connects += 1
                await asyncio.sleep(0.5)
                continue
            self.opened += 1
            self.open_now += 1
            self.max_open = max(self.max_open, self.open_now)
            born = time.monotonic()
            try:
                writer.write(self.start)
                while time.monotonic() < self.until:
                    try:
                        got = await asyncio.wait_for(reader.read(4096), self.interval)
                    except TimeoutError:
                        writer.write(b"a")  # one more byte, never the end of the request
                        continue
                    if not got:  # the server closed it (after a 408, or silently)
                        self.lifetimes.append(time.monotonic() - born)
                        break
            except OSError:
                self.lifetimes.append(time.monotonic() - born)
            finally:
                self.open_now -= 1
                writer.close()


def probe(port: int, seconds: float, queue) -> None:
    """In a process of its own, so the attack's busy event loop cannot delay it: a new
    connection every 0.2 s asking `GET /healthz`; (outcome, seconds) for each."""
    results = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        began = time.perf_counter()
        outcome = ask_health(port, timeout=2)
        results.append((outcome, time.perf_counter() - began))
        time.sleep(max(0.0, 0.2 - (time.perf_counter() - began)))
    queue.put(results)


def server_fds(pid: int) -> int:
    """Open files of the server and its worker processes (Granian and Hypercorn serve
    from children)."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            total += len(os.listdir(f"/proc/{each}/fd"))
        except OSError:
            pass
    return total


async def run(args: argparse.Namespace, server: Server) -> dict:
    until = time.monotonic() + args.seconds
    attack = Attack(server.port, args.mode, args.interval, until)
    fds: list[int] = []

    async def watch_fds() -> None:
        while time.monotonic() < until:
            fds.append(server_fds(server.proc.pid))
            await asyncio.sleep(0.5)

    async def ramp() -> list[asyncio.Task]:
        """Open the slow connections at `--rate` per second, as a real attack ramps up."""
        tasks = []
        for i in range(args.connections):
            tasks.append(asyncio.create_task(attack.one()))
            if i % 100 == 99:
                await asyncio.sleep(100 / args.rate)
        return tasks

    queue: multiprocessing.Queue = multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(server.port, args.seconds, queue))
    prober.start()
    watcher = asyncio.create_task(watch_fds())
    tasks = await ramp()
    await asyncio.gather(watcher, *tasks)
    results = await asyncio.to_thread(queue.get)
    prober.join()
    return {"attack": attack, "probes": results, "fds": fds}


def report(args: argparse.Namespace, out: dict) -> None:
    attack: Attack = out["attack"]
    probes = out["probes"]
    ok = [t * 1000 for outcome, t in probes if outcome == "200"]
    failures = Counter(outcome for outcome, _ in probes if outcome != "200")
    print(
        f"server {args.server}, RLIMIT_NOFILE {args.nofile}; {args.connections} slow "
        f"connections ({args.mode}: a byte every {args.interval:g} s) for {args.seconds:g} s"
    )
    print(
        f"  /healthz: {len(ok)}/{len(probes)} answered 200 ({len(ok) / max(1, len(probes)):.1%})"
        + (
            f", p50 {percentile(ok, 50):.1f} ms, p99 {percentile(ok, 99):.1f} ms,"
            f" max {max(ok):.1f} ms"
            if ok
            else ""
        )
        + (f"; failures: {dict(failures)}" if failures else "")
    )
    life = attack.lifetimes
    print(
        f"  slow connections: {attack.opened} opened, {len(life)} closed by the server"
        + (
            f" after p50 {percentile(life, 50):.1f} s, p99 {percentile(life, 99):.1f} s,"
            f" max {max(life):.1f} s"
            if life
            else ""
        )
        + f"; at most {attack.max_open} open at once; {attack.failed_connects} connects failed"
    )
    fds = [f for f in out["fds"] if f >= 0]
    if fds:
        print(f"  server file descriptors: max {max(fds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=SERVER_KINDS, default="convodesk")
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--rate", type=float, default=1000, help="new slow connections/s")
    parser.add_argument("--mode", choices=("head", "body"), default="head")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections * 2 + 256
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit(f"this process may open only {hard} files; {want} needed (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))

    url = fresh_database()
    try:
        env = env_for(url, CONVODESK_SMTP_PORT="0")
        cli(env, "migrate")
        server = Server(env, kind=args.server, nofile=args.nofile)
        try:
            out = asyncio.run(run(args, server))
        finally:
            server.stop()
        report(args, out)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
