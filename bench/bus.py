"""The live bus's transports, side by side: how long a notice takes from publish to the
listener of another connection, and what a message costs, through Redis with redis-py's
asyncio client (what core.bus uses), through Redis with Litestar's channels backend, and
through PostgreSQL NOTIFY (core.bus's fallback).

    .venv/bin/python bench/bus.py [--messages 3000] [--rate 500]

Each transport: a publisher and a listener on connections of their own in this process;
`--messages` notices published at `--rate` a second (open loop), each a JSON list of one
notice like core.bus's; the time from each publish to its arrival, and this process's
CPU per message (publishing and hearing). Redis at BENCH_REDIS_URL (127.0.0.1:6379).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from harness import REDIS_URL, admin_url, percentile  # noqa: E402


async def _drive(publish, heard: asyncio.Queue, n: int, rate: float) -> dict:
    sent: dict[int, float] = {}
    got: dict[int, float] = {}

    async def read() -> None:
        while len(got) < n:
            message = await heard.get()
            for notice in json.loads(message):
                got.setdefault(notice["id"], time.perf_counter())

    reader = asyncio.create_task(read())
    cpu0 = time.process_time()
    start = time.perf_counter()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        sent[i] = time.perf_counter()
        notice = {"id": i, "customer_id": "c" * 36, "type": "conversation_message_created"}
        await publish(json.dumps([notice]).encode())
    async with asyncio.timeout(30):
        await reader
    cpu = time.process_time() - cpu0
    lat = [(got[i] - sent[i]) * 1000 for i in range(n)]
    return {"lat": lat, "cpu_us": cpu / n * 1e6}


async def redis_py(n: int, rate: float) -> dict:
    import redis.asyncio as aioredis

    pub = aioredis.Redis.from_url(REDIS_URL)
    sub = aioredis.Redis.from_url(REDIS_URL)
    pubsub = sub.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("bench_bus")
    heard: asyncio.Queue = asyncio.Queue()

    async def listen() -> None:
        async for m in pubsub.listen():
            if m.get("type") == "message":
                heard.put_nowait(m["data"])

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    try:
        return await _drive(lambda b: pub.publish("bench_bus", b), heard, n, rate)
    finally:
        task.cancel()
        await pubsub.aclose()
        await pub.aclose()
        await sub.aclose()


async def litestar_redis(n: int, rate: float) -> dict:
    import redis.asyncio as aioredis
    from litestar.channels import ChannelsPlugin
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend

    plugin = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=aioredis.Redis.from_url(REDIS_URL)),
        channels=["bench_bus"],
    )
    other = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=aioredis.Redis.from_url(REDIS_URL)),
        channels=["bench_bus"],
    )
    async with plugin, other:
        subscriber = await other.subscribe("bench_bus")
        heard: asyncio.Queue = asyncio.Queue()

        async def listen() -> None:
            async for raw in subscriber.iter_events():
                heard.put_nowait(raw)

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        try:
            return await _drive(lambda b: plugin.wait_published(b, "bench_bus"), heard, n, rate)
        finally:
            task.cancel()


async def postgres_notify(n: int, rate: float) -> dict:
    import asyncpg

    pub = await asyncpg.connect(admin_url())
    sub = await asyncpg.connect(admin_url())
    heard: asyncio.Queue = asyncio.Queue()
    await sub.add_listener("bench_bus", lambda *a: heard.put_nowait(a[3].encode()))
    try:
        return await _drive(
            lambda b: pub.execute("SELECT pg_notify('bench_bus', $1)", b.decode()),
            heard,
            n,
            rate,
        )
    finally:
        await pub.close()
        await sub.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=500)
    args = parser.parse_args()
    print(
        f"{args.messages} notices at {args.rate:.0f}/s, publisher and listener on their own "
        "connections in one process; publish -> heard, and this process's CPU per message"
    )
    for name, run in (
        ("Redis, redis-py (core.bus)", redis_py),
        ("Redis, Litestar channels", litestar_redis),
        ("PostgreSQL NOTIFY", postgres_notify),
    ):
        r = asyncio.run(run(args.messages, args.rate))
        lat = r["lat"]
        print(
            f"  {name:<28} p50 {statistics.median(lat):6.2f} ms  p99 "
            f"{percentile(lat, 99):6.2f} ms  CPU {r['cpu_us']:5.0f} µs/message"
        )


if __name__ == "__main__":
    main()
