"""Customer webhooks: how fast one dispatcher delivers, and how soon after its commit an
event reaches the customer's endpoint.

    .venv/bin/python bench/webhook_dispatch.py [--events 20000] [--rate 200] [--seconds 10]

1. Throughput. A fresh database with `--events` committed events of one customer (message
   resources of about 700 bytes, written straight into `events`, as the services write
   them) while it has no webhook URL. One `convodesk worker` is started and waits; the
   clock starts when the customer's webhook URL is set (cursor at 0, so every event is
   due). Measured until every delivery is `delivered`: deliveries/s at the receiver and in
   the database, and CPU per delivery (worker, PostgreSQL, receiver). The work includes
   making the delivery rows from the events, signing every body, the HTTP request, and
   logging every attempt.
2. Latency. `convodesk serve` (its dispatcher in-process, as deployed by default) and the
   same receiver; `--rate` room updates a second through the API for `--seconds`; each
   webhook's latency is its arrival time at the receiver minus its event's `tm_create`
   (taken in the committing transaction, just before COMMIT). p50 / p99.

The receiver: uvicorn (httptools, uvloop, one process, no access log) with a bare ASGI app
answering 200, checking the Standard Webhooks signature of every 50th delivery, and
keeping each delivery's webhook-id, arrival time and event time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from harness import (  # noqa: E402
    ROOT,
    CpuMeter,
    Server,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    free_port,
    fresh_database,
    percentile,
    start_worker,
)

# --- the receiver (run as `webhook_dispatch.py --receiver PORT SECRET`) ---------------------


def receiver(port: int, secret: str) -> None:
    import uvicorn

    key = base64.b64decode(secret.removeprefix("whsec_"))
    seen: dict[str, tuple[float, str]] = {}
    stats = {"posts": 0, "first": None, "last": None, "checked": 0, "bad_signatures": 0}

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload = 200, b"ok"
        if scope["method"] == "GET" and scope["path"] == "/stats":
            payload = json.dumps({**stats, "distinct": len(seen)}).encode()
        elif scope["method"] == "GET" and scope["path"] == "/latencies":
            payload = json.dumps([(at, tm) for at, tm in seen.values()]).encode()
        elif scope["method"] == "POST" and scope["path"] == "/reset":
            seen.clear()
            stats.update(posts=0, first=None, last=None)
        elif scope["method"] == "POST" and scope["path"] == "/hook":
            now = time.time()
            headers = dict(scope["headers"])
            webhook_id = headers[b"webhook-id"].decode()
            stats["posts"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            if stats["posts"] % 50 == 1:
                stats["checked"] += 1
                signed = webhook_id.encode() + b"." + headers[b"webhook-timestamp"] + b"." + body
                wanted = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
                given = headers[b"webhook-signature"].split()
                if b"v1," + wanted not in given:
                    stats["bad_signatures"] += 1
            tm = body.split(b'"tm_create":"', 1)[1].split(b'"', 1)[0].decode()
            seen.setdefault(webhook_id, (now, tm))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


# --- helpers --------------------------------------------------------------------------------


async def sql(url: str, query: str, *args):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def message_payload(customer_id: str, i: int) -> str:
    """A message resource of the usual size, as the API returns it."""
    return json.dumps(
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "conversation_id": "11111111-1111-4111-8111-111111111111",
            "customer_id": customer_id,
            "direction": "inbound",
            "status": "done",
            "reference_type": "message",
            "reference_id": "+15551230000",
            "source_target": "+15551230000",
            "source": {"type": "tel", "target": "+15551230000", "target_name": "", "name": ""},
            "destination": {"type": "tel", "target": "+15550001111", "target_name": "me"},
            "text": f"Bench message {i}: my printer is on fire and the office smells of toner.",
            "medias": [],
            "error": None,
            "provider_message_id": f"SM{i:032d}",
            "tm_create": "2026-11-21 10:00:00.000000",
            "tm_update": "2026-11-21 10:00:00.000000",
            "tm_delete": "9999-01-01 00:00:00.000000",
        }
    )


def start_receiver(secret: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--receiver", str(port), secret], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/stats", timeout=1)
            return proc, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def new_customer(env: dict[str, str]) -> str:
    out = cli(
        env,
        *("customer", "create", "--name", "Bench"),
        *("--username", "bench-admin", "--password", "bench-password"),
    )
    return json.loads(out.strip().splitlines()[-1])["customer_id"]


# --- 1. throughput --------------------------------------------------------------------------


def throughput(n: int) -> None:
    url = fresh_database()
    env = env_for(url, CONVODESK_SMTP_PORT="0", CONVODESK_ALLOW_PRIVATE_WEBHOOKS="1")
    worker = recv = None
    try:
        cli(env, "migrate")
        customer_id = new_customer(env)
        secret = asyncio.run(
            sql(url, "SELECT webhook_secret FROM customers WHERE id = $1", customer_id)
        )
        recv, recv_url = start_receiver(secret)

        async def write_events() -> None:
            conn = await asyncpg.connect(url)
            try:
                rows = [
                    (customer_id, "conversation_message_created", message_payload(customer_id, i))
                    for i in range(n)
                ]
                await conn.executemany(
                    "INSERT INTO events (customer_id, type, topics, payload, audience, tm_create)"
                    " VALUES ($1, $2, '{}', $3::json, '{}', clock_timestamp())",
                    rows,
                )
            finally:
                await conn.close()

        asyncio.run(write_events())
        worker = start_worker(env, url)

        meter = CpuMeter(db_name(url), worker=worker.pid, receiver=recv.pid)
        started = time.perf_counter()
        asyncio.run(
            sql(
                url,
                "UPDATE customers SET webhook_uri = $2 WHERE id = $1",
                customer_id,
                recv_url + "/hook",
            )
        )
        done = 0
        while done < n and time.perf_counter() - started < 600:
            time.sleep(0.1)
            done = asyncio.run(
                sql(url, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            )
        elapsed = time.perf_counter() - started
        usage = meter.stop()
        stats = httpx.get(recv_url + "/stats", timeout=10).json()
        attempts = asyncio.run(sql(url, "SELECT count(*) FROM webhook_attempts"))
        print(
            f"1. throughput: 2 cores; PostgreSQL on 127.0.0.1; {n} committed events of one"
            " customer; one `convodesk worker` (webhook dispatcher: up to"
            f" {env.get('CONVODESK_WEBHOOK_CONCURRENCY', '256')} in flight, 32 per endpoint);"
            " receiver: uvicorn + httptools + uvloop, one process"
        )
        span = (stats["last"] or 0) - (stats["first"] or 0)
        print(
            f"    received: {stats['posts']} POSTs ({stats['distinct']} distinct webhook-ids;"
            f" {stats['checked']} signatures checked, {stats['bad_signatures']} bad) in"
            f" {span:.1f} s = {stats['posts'] / max(span, 1e-9):,.0f} deliveries/s"
        )
        print(
            f"    finished: {done} of {n} delivered ({attempts} attempts logged) in"
            f" {elapsed:.1f} s after the URL was set = {done / elapsed:,.0f} deliveries/s"
        )
        print("  " + cpu_line(usage))
        print(
            f"    per delivery: worker {usage['worker'] / n * 1000:.2f} ms CPU, PostgreSQL "
            f"{usage['postgres'] / n * 1000:.2f} ms, receiver {usage['receiver'] / n * 1000:.2f} ms"
        )
        if stats["posts"] != n or stats["distinct"] != n or done != n:
            print("    NOTE: not every event was delivered exactly once")
    finally:
        for proc in (worker, recv):
            if proc is not None:
                proc.terminate()
                proc.wait(30)
        drop_database(url)


# --- 2. latency -----------------------------------------------------------------------------


async def paced_updates(base: str, token: str, rate: int, seconds: float) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        rooms = []
        for i in range(20):
            r = await c.post(
                "/v1.0/conversations",
                json={"participants": [{"type": "tel", "target": f"+1202555{i:04d}"}]},
            )
            rooms.append(r.json()["id"])
        sent = 0
        tasks = set()
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            due = int((time.perf_counter() - started) * rate)
            while sent < due:
                room = rooms[sent % len(rooms)]
                task = asyncio.create_task(
                    c.put(f"/v1.0/conversations/{room}", json={"detail": f"update {sent}"})
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
        return sent


def latency(rate: int, seconds: float) -> None:
    url = fresh_database()
    env = env_for(url, CONVODESK_SMTP_PORT="0", CONVODESK_ALLOW_PRIVATE_WEBHOOKS="1")
    server = recv = None
    try:
        cli(env, "migrate")
        customer_id = new_customer(env)
        secret = asyncio.run(
            sql(url, "SELECT webhook_secret FROM customers WHERE id = $1", customer_id)
        )
        recv, recv_url = start_receiver(secret)
        server = Server(env)
        login = {"username": "bench-admin", "password": "bench-password"}
        token = httpx.post(server.url + "/auth/login", json=login).json()["token"]
        r = httpx.put(
            server.url + "/v1.0/customer",
            headers={"Authorization": f"Bearer {token}"},
            json={"webhook_uri": recv_url + "/hook", "webhook_events": ["conversation_updated"]},
        )
        assert r.status_code == 200, r.text
        # a warm-up at the same rate, not counted: connections, pools and plans are made
        warm = asyncio.run(paced_updates(server.url, token, rate, 2))
        deadline = time.monotonic() + 60
        while httpx.get(recv_url + "/stats").json()["distinct"] < warm:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up's webhooks did not all arrive")
            time.sleep(0.2)
        httpx.post(recv_url + "/reset")
        sent = asyncio.run(paced_updates(server.url, token, rate, seconds))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(recv_url + "/stats").json()["distinct"] >= sent:
                break
            time.sleep(0.2)
        pairs = httpx.get(recv_url + "/latencies", timeout=30).json()
        millis = []
        for arrived, tm in pairs:
            made = datetime.strptime(tm, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            millis.append((arrived - made.timestamp()) * 1000)
        print(
            f"2. latency: `convodesk serve` (dispatcher in-process), {rate} room updates/s"
            f" through the API for {seconds:g} s after a 2 s warm-up ({sent} sent,"
            f" {len(millis)} webhooks received)"
        )
        print(
            f"    event commit -> webhook at the receiver: p50 {percentile(millis, 50):.1f} ms,"
            f" p90 {percentile(millis, 90):.1f} ms, p99 {percentile(millis, 99):.1f} ms,"
            f" max {max(millis):.1f} ms"
        )
    finally:
        if server is not None:
            server.stop()
        if recv is not None:
            recv.terminate()
            recv.wait(30)
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--receiver", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("throughput", "latency"))
    args = parser.parse_args()
    if args.receiver:
        receiver(int(args.receiver[0]), args.receiver[1])
        return
    if args.only != "latency":
        throughput(args.events)
    if args.only != "throughput":
        latency(args.rate, args.seconds)


if __name__ == "__main__":
    main()
