"""What authentication costs per request.

Every API request re-reads the agent behind its token or access key (so deletions and
demotions apply at once); this measures that against an unauthenticated baseline, and the
deliberate cost of signing in (Argon2id).

    .venv/bin/python bench/auth_requests.py [--requests 2000] [--concurrency 16]
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
from harness import Server, cli, drop_database, env_for, fresh_database, summary  # noqa: E402


async def timed(client: httpx.AsyncClient, n: int, concurrency: int, **request) -> tuple:
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            t = time.perf_counter()
            r = await client.request(**request)
            latencies.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text

    started = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(n)])
    return latencies, n / (time.perf_counter() - started)


async def run(url: str, n: int, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        login = {"username": "bench-admin", "password": "bench-password"}
        token = (await c.post("/auth/login", json=login)).json()["token"]
        key = (await c.post("/v1.0/accesskeys", params={"token": token}, json={})).json()["token"]
        cases = [
            ("GET /healthz (no auth, one SELECT 1)", {"method": "GET", "url": "/healthz"}),
            (
                "GET /v1.0/customer with a JWT",
                {"method": "GET", "url": "/v1.0/customer", "params": {"token": token}},
            ),
            (
                "GET /v1.0/customer with an access key",
                {"method": "GET", "url": "/v1.0/customer", "params": {"accesskey": key}},
            ),
        ]
        for label, request in cases:
            await timed(c, 100, concurrency, **request)  # warm up
            sequential, _ = await timed(c, n // 4, 1, **request)
            print(summary(label + ", sequential", sequential))
            _, rate = await timed(c, n, concurrency, **request)
            print(f"{'':<44} {rate:,.0f} requests/s at concurrency {concurrency}")
        logins, _ = await timed(c, 40, 1, method="POST", url="/auth/login", json=login)
        print(summary("POST /auth/login (Argon2id verify)", logins))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    url = fresh_database()
    env = env_for(url)
    try:
        cli(env, "migrate")
        json.loads(
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
        )
        server = Server(env)
        try:
            asyncio.run(run(server.url, args.requests, args.concurrency))
        finally:
            server.stop()
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
