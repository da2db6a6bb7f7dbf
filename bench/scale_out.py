"""Scale-out on one machine: does a second web process add capacity, and how fast does a
message taken in by one process reach a websocket on the other?

    .venv/bin/python bench/scale_out.py [--messages 6000] [--concurrency 50] [--peers 3000]
        [--rates 50,200] [--seconds 10] [--ceiling-rows 30000] [--rounds 1]

Every process on one database and one Redis (the bus), a `convodesk worker` beside the
web processes (which run no workers), as in deploy/docker-compose.yml.

(1) one web process: `--messages` signed Twilio webhooks (bench/sms_inbound.py's client:
    pre-signed, keep-alive, `--concurrency` connections).
(2) two web processes: the same load, half the connections to each.
    2 processes / 1 = the scaling ratio (target >= 1.0 on this 2-core machine), with the
    CPU per message of the servers and of PostgreSQL.
(3) cross-process delivery: an API websocket on process 2 subscribed to every room, while
    webhooks go into process 1 at each of `--rates` a second (open loop) for `--seconds`: for each
    message, from the moment its POST is sent until its `conversation_message_created`
    frame arrives on process 2 (target p99 <= 50 ms at 200/s). The frame follows the
    commit, the outbox, Redis, the hub on process 2 and its events read, and the socket.
(c) the plain single-row INSERT ceiling in the same run, for scale.
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

from harness import (  # noqa: E402
    REDIS_URL,
    CpuMeter,
    Server,
    bind_app_to,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    fresh_database,
    percentile,
)
from message_throughput import ceiling  # noqa: E402
from sms_inbound import (  # noqa: E402
    PUBLIC,
    Prepared,
    _exchange,
    load,
    peer_number,
    prepare,
    sms_account,
)

TEXT = "Hello from the bench, message "
"""sms_inbound.prepare's text for message i is TEXT + str(i)."""


def _worker_process(env: dict[str, str]):
    import subprocess
    import tempfile

    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    root = os.path.join(os.path.dirname(__file__), "..")
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=root, env=env, stdout=log, stderr=log
    )


async def _split_load(servers: list[Server], batch: list[list[Prepared]], concurrency: int):
    """Each server its share of the requests and of the connections, at once."""
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            load("127.0.0.1", s.port, part, max(1, concurrency // len(servers)))
            for s, part in zip(servers, batch, strict=True)
        )
    )
    elapsed = time.perf_counter() - started
    n = sum(len(part) for part in batch)
    latencies = [x for r in results for x in r["latencies"]]
    return {"rate": n / elapsed, "elapsed": elapsed, "latencies": latencies}


def throughput(servers: list[Server], url: str, path: str, first: int, args) -> dict:
    per = args.messages // len(servers)
    batch = [
        prepare(
            f"127.0.0.1:{s.port}",
            path,
            first + k * per,
            per,
            lambda i: peer_number(i % args.peers),
            "m",
        )
        for k, s in enumerate(servers)
    ]
    meter = CpuMeter(db_name(url), **{f"server{k}": s.proc.pid for k, s in enumerate(servers)})
    result = asyncio.run(_split_load(servers, batch, args.concurrency))
    result["cpu"] = meter.stop()
    result["cpu"]["servers"] = sum(result["cpu"][f"server{k}"] for k in range(len(servers)))
    return result


async def crossing(
    one: Server, two: Server, token: str, customer_id: str, path: str, first: int, args
) -> dict:
    """Webhooks into `one` at a fixed rate; the frames on a websocket of `two`."""
    from websockets.asyncio.client import connect

    n = int(args.rate * args.seconds)
    requests = prepare(
        f"127.0.0.1:{one.port}", path, first, n, lambda i: peer_number(i % args.peers), "x"
    )
    sent_at: dict[str, float] = {}
    frames: dict[str, float] = {}
    ws_url = f"ws://127.0.0.1:{two.port}/v1.0/ws"
    async with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "topics": [f"customer_id:{customer_id}:conversation"]})
        )
        assert json.loads(await ws.recv())["type"] == "subscribed"

        async def read() -> None:
            while len(frames) < n:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "conversation_message_created":
                    text = frame["data"].get("text", "")
                    frames.setdefault(text, time.perf_counter())

        reader = asyncio.create_task(read())
        conns = [await asyncio.open_connection("127.0.0.1", one.port) for _ in range(20)]
        free: asyncio.Queue = asyncio.Queue()
        for c in conns:
            free.put_nowait(c)

        async def post(p: Prepared, text: str) -> None:
            reader_, writer = await free.get()
            sent_at[text] = time.perf_counter()
            status = await _exchange(reader_, writer, p.raw)
            assert status == 200, status
            free.put_nowait((reader_, writer))

        start = time.perf_counter()
        tasks = []
        for i, p in enumerate(requests):
            await asyncio.sleep(max(0.0, start + i / args.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(p, f"{TEXT}{first + i}")))
        await asyncio.gather(*tasks)
        try:
            async with asyncio.timeout(30):
                await reader
        except TimeoutError:
            reader.cancel()
        for _, w in conns:
            w.close()
    latencies = [(frames[t] - sent_at[t]) * 1000 for t in sent_at if t in frames]
    return {"n": n, "latencies": latencies, "missing": n - len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--peers", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--rates", default="50,200", help="messages/s of (3), each in turn")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--ceiling-rows", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    url = fresh_database()
    env = env_for(
        url,
        CONVODESK_PUBLIC_URL=PUBLIC,
        CONVODESK_REDIS_URL=REDIS_URL,
        CONVODESK_NO_WORKERS="1",
    )
    restore = bind_app_to(url)
    worker = None
    servers: list[Server] = []
    try:
        cli(env, "migrate")
        made = json.loads(
            cli(
                env,
                *("customer", "create", "--name", "Bench", "--username", "bench-admin"),
                *("--password", "bench-password"),
            )
        )
        worker_env = {k: v for k, v in env.items() if k != "CONVODESK_NO_WORKERS"}
        worker = _worker_process(worker_env)
        servers = [Server(env), Server(env)]
        one, two = servers
        token, path = sms_account(one.url)
        for s in servers:  # warm both, from other numbers
            warm = prepare(
                f"127.0.0.1:{s.port}",
                path,
                s.port * 1000,
                args.warmup // 2,
                lambda i: f"+1303555{i % 100:04d}",
                "w",
            )
            asyncio.run(load("127.0.0.1", s.port, warm, args.concurrency))
        batches = iter(range(10**6, 10**9, 10**5))
        # every peer's room opened first, so both phases only join rooms
        rooms = prepare(f"127.0.0.1:{one.port}", path, next(batches), args.peers, peer_number, "r")
        asyncio.run(load("127.0.0.1", one.port, rooms, args.concurrency))
        ones, twos = [], []
        for _ in range(args.rounds):
            ones.append(throughput([one], url, path, next(batches), args))
            twos.append(throughput([one, two], url, path, next(batches), args))
        crosses = []
        for rate in (float(r) for r in args.rates.split(",")):
            args.rate = rate
            cross = crossing(one, two, token, made["customer_id"], path, next(batches), args)
            crosses.append((rate, asyncio.run(cross)))
        c = asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency))
    finally:
        for s in servers:
            s.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        restore()
        drop_database(url)

    n = args.messages
    print(
        f"2 cores; PostgreSQL and Redis on 127.0.0.1; web processes with no workers, one "
        f"`convodesk worker`; {args.concurrency} keep-alive connections of signed Twilio "
        f"webhooks, {args.peers} From numbers; {args.rounds} round(s), medians"
    )

    def med(rows: list[dict], key) -> float:
        return statistics.median(key(r) for r in rows)

    for label, rows in (("(1) one web process", ones), ("(2) two web processes", twos)):
        rate = med(rows, lambda r: r["rate"])
        lat = rows[-1]["latencies"]
        print(
            f"{label}: {rate:,.0f} messages/s; p50 {statistics.median(lat):.1f} ms, p99 "
            f"{percentile(lat, 99):.1f} ms; per message: servers "
            f"{med(rows, lambda r: r['cpu']['servers']) / n * 1000:.2f} ms CPU, PostgreSQL "
            f"{med(rows, lambda r: r['cpu']['postgres']) / n * 1000:.2f} ms"
        )
        print("    " + cpu_line(rows[-1]["cpu"]))
    ratio = med(twos, lambda r: r["rate"]) / med(ones, lambda r: r["rate"])
    print(f"two processes / one = {ratio:.2f} (target >= 1.0)")
    for rate, cross in crosses:
        lat = cross["latencies"]
        print(
            f"(3) into process 1 at {rate:.0f}/s for {args.seconds:.0f} s, frames on a "
            f"websocket of process 2: {len(lat)} of {cross['n']} arrived; POST sent -> frame "
            f"p50 {statistics.median(lat):.1f} ms, p95 {percentile(lat, 95):.1f} ms, p99 "
            f"{percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms (target p99 <= 50 ms)"
        )
    print(
        f"(c) ceiling: {c['rate']:,.0f} single-row INSERTs/s; one process / ceiling = "
        f"{med(ones, lambda r: r['rate']) / c['rate']:.3f}"
    )


if __name__ == "__main__":
    main()
