"""From a committed inbound message to its frame on a subscribed API websocket.

    .venv/bin/python bench/ws_latency.py [--rate 200] [--seconds 15] [--peers 200]

One `convodesk serve` process (the Redis bus); one API websocket client, in
a separate process, subscribed to `customer_id:<cid>:conversation`; and a producer in this
process calling `messages.receive()` on a steady schedule (open loop: message i is due at
i / rate, whether or not earlier ones are done), with an outbox on the bus attached as a
worker process has it, so each committed event is announced with NOTIFY after COMMIT.

Latency: from just after `receive()` returns (committed, and announced) to the arrival of the
`conversation_message_received` frame whose `data.id` is the returned message's id. Both
ends read CLOCK_MONOTONIC, which all processes of the machine share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    DISTURBED,
    REDIS_URL,
    CpuMeter,
    Server,
    bench_outbox,
    bind_app_to,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    fresh_database,
    percentile,
    undisturbed,
)

# --- the websocket client (its own process) ------------------------------------------------


async def client(ws_url: str, token: str, topic: str, expect: int, idle: float) -> None:
    """Subscribe, say "ready", then note when each conversation_message_received frame
    arrives until `expect` of them came or none came for `idle` seconds; print them."""
    from websockets.asyncio.client import connect

    arrivals: dict[str, int] = {}
    frames = 0
    async with connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None, max_queue=None
    ) as ws:
        await ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
        ack = json.loads(await ws.recv())
        assert ack == {"type": "subscribed", "topics": [topic]}, ack
        print("ready", flush=True)
        while len(arrivals) < expect:
            try:
                raw = await asyncio.wait_for(ws.recv(), idle)
            except TimeoutError:
                break
            at = time.monotonic_ns()
            frames += 1
            frame = json.loads(raw)
            if frame.get("type") == "conversation_message_received":
                arrivals[frame["data"]["id"]] = at
    print(json.dumps({"arrivals": arrivals, "frames": frames}), flush=True)


# --- the producer (this process) ------------------------------------------------------------


async def produce(
    url: str,
    customer_id: str,
    ws_url: str,
    token: str,
    rate: float,
    seconds: float,
    peers: int,
    server_pid: int,
) -> dict:
    from app.channels import accounts
    from app.conversations import messages
    from app.core import bus
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.inbound import InboundMessage

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=20, max_size=20)
    # the bus as a worker process keeps it: one outbox
    outbox, close_outbox = await bench_outbox(env_for(url, CONVODESK_REDIS_URL=REDIS_URL))
    # when the first notice of a receive() is handed to the bus: COMMIT has just returned
    announced: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
        "announced", default=None
    )

    def publish(notices: list[dict]) -> None:
        stamps = announced.get()
        if stamps is not None and not stamps:
            stamps.append(time.monotonic_ns())
        outbox.put(notices)

    bus.attach(publish)
    try:
        account = await accounts.create_account(
            customer_id,
            type="loopback",
            address="+15550001111",
            name="sms (loopback)",
            settings={"reference_type": "message"},
        )
        # every room exists before the clock starts: the measured messages join rooms
        for p in range(peers):
            await messages.receive(
                account,
                InboundMessage(
                    peer=f"+1202555{p:04d}", text="hello", provider_message_id=f"warm-{p}"
                ),
            )

        n = int(rate * seconds)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            json.dumps(
                {
                    "ws_url": ws_url,
                    "token": token,
                    "topic": f"customer_id:{customer_id}:conversation",
                    "expect": n,
                    "idle": 10.0,
                }
            ),
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
        await asyncio.sleep(1)  # let the server's pump settle after the subscription

        returned: dict[str, int] = {}
        committed: dict[str, int] = {}
        receive_ms: list[float] = []
        late: list[float] = []

        async def one(i: int, due: float) -> None:
            inbound = InboundMessage(
                peer=f"+1202555{i % peers:04d}",
                text=f"live message {i}",
                provider_message_id=f"live-{i}",
            )
            t = time.monotonic()
            late.append((t - due) * 1000)
            stamps: list[int] = []
            announced.set(stamps)  # this task's own context
            got = await messages.receive(account, inbound)
            done = time.monotonic_ns()
            returned[got.message.id] = done
            committed[got.message.id] = stamps[0]
            receive_ms.append(done / 1e6 - t * 1000)

        meter = CpuMeter(db_name(url), server=server_pid, bench=os.getpid(), client=proc.pid)
        start = time.monotonic()
        tasks = []
        for i in range(n):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        produced_for = time.monotonic() - start
        usage = meter.stop()
        out, _ = await proc.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        arrivals = result["arrivals"]
        latencies = [(arrivals[m] - c) / 1e6 for m, c in returned.items() if m in arrivals]
        from_commit = [(arrivals[m] - c) / 1e6 for m, c in committed.items() if m in arrivals]
        return {
            "n": n,
            "produced_for": produced_for,
            "latencies": latencies,
            "from_commit": from_commit,
            "missing": n - len(latencies),
            "frames": result["frames"],
            "receive_ms": receive_ms,
            "late": late,
            "cpu": usage,
        }
    finally:
        bus.attach(None)
        await close_outbox()
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--peers", type=int, default=200)
    parser.add_argument("--client", help=argparse.SUPPRESS)  # the websocket process's job
    args = parser.parse_args()
    if args.client:
        asyncio.run(client(**json.loads(args.client)))
        return

    url = fresh_database()
    restore = bind_app_to(url)  # app modules bind their engine at import
    env = env_for(url, CONVODESK_REDIS_URL=REDIS_URL)
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
        server = Server(env)
        try:
            login = {"username": "bench-admin", "password": "bench-password"}
            token = httpx.post(server.url + "/auth/login", json=login).json()["token"]
            ws_url = server.url.replace("http://", "ws://") + "/v1.0/ws"
            r = undisturbed(
                lambda: asyncio.run(
                    produce(
                        url,
                        customer_id,
                        ws_url,
                        token,
                        args.rate,
                        args.seconds,
                        args.peers,
                        server.proc.pid,
                    )
                ),
                label="ws latency",
            )
        finally:
            server.stop()
        lat = r["latencies"]
        print(
            "2 cores; one server (PostgreSQL bus), one API websocket client process, "
            "producer in-process (started on a quiet machine; measured again when other "
            f"load kept > {DISTURBED} cores busy)"
        )
        print(
            f"produced {r['n']} messages at {args.rate:.0f}/s over {args.peers} rooms in "
            f"{r['produced_for']:.1f} s; {len(lat)} matching frames arrived, "
            f"{r['missing']} missing ({r['frames']} frames in all)"
        )
        print(
            f"receive() (commit + NOTIFY)       median {statistics.median(r['receive_ms']):6.2f}"
            f" ms  p99 {percentile(r['receive_ms'], 99):6.2f} ms;  producer behind schedule "
            f"p99 {percentile(r['late'], 99):.2f} ms"
        )
        for label, values in (
            ("receive() returned -> frame", lat),
            ("COMMIT returned -> frame", r["from_commit"]),
        ):
            print(
                f"{label:<33} p50 {percentile(values, 50):6.2f} ms  "
                f"p90 {percentile(values, 90):6.2f} ms  p99 {percentile(values, 99):6.2f} ms"
                f"  max {max(values):6.2f} ms  min {min(values):6.2f} ms"
            )
        print("target: p99 < 50 ms")
        print(cpu_line(r["cpu"]))
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
