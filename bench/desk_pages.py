"""Desk page times with 100,000 rooms and 1,000,000 messages: the inbox (`/`) and a room
(`/conversations/{id}`), as a signed-in admin, through a real server process.

    .venv/bin/python bench/desk_pages.py [--rooms 100000] [--messages 1000000] [--requests 200]

The data is bulk-loaded by `lists_at_scale.load` (the same shape: every room with "me" and
a peer, messages spread over time, 100 big rooms). Each case is a few hundred sequential
GETs; the figure is the time to the full response on loopback, which is the server's time
plus a fraction of a millisecond. Target: p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    Server,
    cli,
    drop_database,
    env_for,
    fresh_database,
    percentile,
    summary,
)
from lists_at_scale import load  # noqa: E402

TARGET_P95_MS = 50.0


def measure(base: str, big_rooms: list[str], requests: int) -> list[tuple[str, list[float]]]:
    with httpx.Client(base_url=base, timeout=60) as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "bench-admin",
                "password": "bench-password",
                "_csrf_token": c.cookies.get("csrftoken", ""),
            },
        )
        assert r.status_code in (200, 303) and "token" in c.cookies, r.text[:300]
        cases = [
            ("inbox page /", "/"),
            ("inbox page /?status=active", "/?status=active"),
            ("inbox page /?q=<a phone number>", "/?q=%2B12000001000"),
            ("room page of a big room", f"/conversations/{big_rooms[0]}"),
            ("room page of a small room", None),
        ]
        small = None
        html = c.get("/").text
        marker = 'data-id="'
        if marker in html:
            small = html.split(marker, 1)[1].split('"', 1)[0]
        results = []
        for label, path in cases:
            path = path or f"/conversations/{small}"
            for _ in range(10):  # warm up
                c.get(path)
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                r = c.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (path, r.status_code)
            results.append((label, times))
        return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big-rooms", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = fresh_database()
    env = env_for(url, CONVODESK_NO_WORKERS="1")
    try:
        cli(env, "migrate")
        customer_id = json.loads(
            cli(
                env,
                "customer",
                "create",
                "--name",
                "Bench",
                "--username",
                "bench-admin",
                "--password",
                "bench-password",
            )
        )["customer_id"]
        started = time.perf_counter()
        loaded = asyncio.run(load(url, customer_id, args.rooms, args.messages, args.big_rooms))
        counts = loaded["counts"]
        print(
            f"loaded {counts['rooms']:,} rooms, {counts['messages']:,} messages in "
            f"{time.perf_counter() - started:.0f} s"
        )
        server = Server(env)
        try:
            results = measure(server.url, loaded["big_rooms"], args.requests)
        finally:
            server.stop()
        print(
            f"one server process, sequential GETs as a signed-in admin; target p95 < "
            f"{TARGET_P95_MS:.0f} ms"
        )
        for label, times in results:
            ok = "ok" if percentile(times, 95) < TARGET_P95_MS else "MISSED"
            print(summary(label, times) + "  " + ok)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
