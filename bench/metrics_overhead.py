"""What recording metrics costs a request.

Two servers on one database: one with CONVODESK_METRICS_TOKEN set (every response's
latency observed under its route template), one without (no hook installed). The same
request loop runs against each in turn, alternating rounds so the machine's drifting load
falls on both alike, and the medians are compared. Sequential requests: the figure is the
time one request takes, which is where a per-request cost shows.

    .venv/bin/python bench/metrics_overhead.py [--seconds 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
from harness import Server, customer_database, summary  # noqa: E402

TOKEN = "bench-metrics-" + "m" * 20


def loop(url: str, path: str, headers: dict[str, str], seconds: float) -> list[float]:
    """Requests one after another for `seconds`; each one's time in ms."""
    took: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for _ in range(20):  # warm up the connection and the server's caches
            c.get(path)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            r = c.get(path)
            took.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and server")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with customer_database() as (_, env, _made):
        on = Server({**env, "CONVODESK_METRICS_TOKEN": TOKEN})
        off = Server(env)
        try:
            login = {"username": "bench-admin", "password": "bench-password"}
            token = httpx.post(on.url + "/auth/login", json=login).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            cases = [
                ("GET /healthz", "/healthz", {}),
                ("GET /v1.0/conversations", "/v1.0/conversations", auth),
            ]
            for label, path, headers in cases:
                timed: dict[str, list[float]] = {"on": [], "off": []}
                for _ in range(args.rounds):
                    for name, server in (("off", off), ("on", on)):
                        timed[name] += loop(server.url, path, headers, args.seconds)
                for name in ("off", "on"):
                    print(summary(f"{label}, metrics {name}", timed[name]))
                ratio = statistics.median(timed["on"]) / statistics.median(timed["off"])
                print(f"{'':<44} median on/off = {ratio:.3f}")
            scraped = httpx.get(on.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            t = time.perf_counter()
            for _ in range(20):
                httpx.get(on.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            each = (time.perf_counter() - t) / 20 * 1000
            print(f"GET /metrics: {len(scraped.content):,} bytes, {each:.1f} ms per scrape")
        finally:
            on.stop()
            off.stop()


if __name__ == "__main__":
    main()
