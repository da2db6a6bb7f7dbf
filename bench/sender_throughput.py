"""How fast one `convodesk worker` empties a queue of outbound SMS into Twilio's Messages
API (a fast local stand-in), from queued to `done`.

    .venv/bin/python bench/sender_throughput.py [--messages 5000] [--rooms 200]

1. A fresh database; `convodesk serve` with CONVODESK_NO_WORKERS=1; an SMS account; the
   messages queued through the API (POST /v1.0/conversations/{id}/messages), spread over
   `--rooms` rooms. The web server is then stopped (it takes no part).
2. The queue is parked (next_try_at an hour ahead), one `convodesk worker` is started and
   waits on it; the clock starts when the queue is released (next_try_at = now).
3. Measured: messages/s reaching the fake Twilio, and messages/s becoming `done`, until
   every one is done; the worker's and PostgreSQL's CPU per message.

The fake Twilio: uvicorn (httptools, uvloop, one process, no access log) serving a
bare ASGI app that answers POST /2010-04-01/Accounts/{sid}/Messages.json with 201 and a
Message resource (a fresh SM sid), and counts what it received (GET /stats).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

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
    start_worker,
)

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "bench-sender-auth-token-0123456789"


# --- the fake Twilio (run as `sender_throughput.py --fake-twilio PORT`) --------------------


def fake_twilio(port: int) -> None:
    import uvicorn

    stats = {"posts": 0, "first": None, "last": None}
    bodies: set[str] = set()

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
        if scope["method"] == "GET" and scope["path"] == "/stats":
            payload = {**stats, "distinct": len(bodies)}
            status = 200
        elif scope["method"] == "POST" and scope["path"].endswith("/Messages.json"):
            now = time.time()
            stats["posts"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            from urllib.parse import parse_qs

            form = parse_qs(body.decode())
            bodies.add(form.get("Body", [""])[0])
            sid = "SM" + uuid.uuid4().hex
            payload = {
                "sid": sid,
                "account_sid": scope["path"].split("/")[3],
                "to": form.get("To", [""])[0],
                "from": form.get("From", [""])[0],
                "body": form.get("Body", [""])[0],
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "num_media": "0",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            }
            status = 201
        else:
            payload, status = {"code": 20404, "message": "not found", "status": 404}, 404
        data = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


# --- the bench ------------------------------------------------------------------------------


async def queue_messages(base: str, token: str, rooms: int, n: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        room_ids = []
        for i in range(rooms):
            r = await c.post(
                "/v1.0/conversations",
                json={"participants": [{"type": "tel", "target": f"+1202555{i:04d}"}]},
            )
            assert r.status_code == 201, r.text
            room_ids.append(r.json()["id"])
        sem = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with sem:
                r = await c.post(
                    f"/v1.0/conversations/{room_ids[i % rooms]}/messages",
                    json={"text": f"outbound bench message {i}"},
                )
                assert r.status_code == 201, r.text

        await asyncio.gather(*(one(i) for i in range(n)))


async def sql(url: str, query: str, *args):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--fake-twilio", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_twilio:
        fake_twilio(args.fake_twilio)
        return

    url = fresh_database()
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    fake = subprocess.Popen([sys.executable, __file__, "--fake-twilio", str(fake_port)], cwd=ROOT)
    env = env_for(
        url,
        CONVODESK_TWILIO_API_BASE=fake_url,
        CONVODESK_SMTP_PORT="0",
        CONVODESK_NO_WORKERS="1",
        CONVODESK_PUBLIC_URL="https://bench.example.test",
    )
    worker = None
    try:
        cli(env, "migrate")
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
        server = Server(env)
        try:
            login = {"username": "bench-admin", "password": "bench-password"}
            token = httpx.post(server.url + "/auth/login", json=login).json()["token"]
            r = httpx.post(
                server.url + "/v1.0/conversation_accounts",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "type": "sms",
                    "settings": {"phone_number": "+14155550100", "account_sid": ACCOUNT_SID},
                    "secrets": {"auth_token": AUTH_TOKEN},
                },
            )
            assert r.status_code == 201, r.text
            t = time.perf_counter()
            asyncio.run(queue_messages(server.url, token, args.rooms, args.messages))
            queued_in = time.perf_counter() - t
        finally:
            server.stop()
        asyncio.run(sql(url, "UPDATE outbound_messages SET next_try_at = now() + interval '1h'"))
        httpx.get(fake_url + "/stats", timeout=10)  # the fake is up

        worker = start_worker(env, url)

        meter = CpuMeter(db_name(url), worker=worker.pid, fake_twilio=fake.pid)
        started = time.perf_counter()
        asyncio.run(sql(url, "UPDATE outbound_messages SET next_try_at = now()"))
        done = 0
        while done < args.messages and time.perf_counter() - started < 600:
            time.sleep(0.1)
            done = asyncio.run(
                sql(
                    url,
                    "SELECT count(*) FROM messages WHERE direction = 'outbound'"
                    " AND status <> 'progressing'",
                )
            )
        elapsed = time.perf_counter() - started
        usage = meter.stop()
        failed = asyncio.run(sql(url, "SELECT count(*) FROM messages WHERE status = 'failed'"))
        stats = httpx.get(fake_url + "/stats", timeout=10).json()
        n = args.messages
        print(
            f"2 cores; PostgreSQL on 127.0.0.1; {n} outbound SMS queued through the API over "
            f"{args.rooms} rooms ({n / queued_in:,.0f}/s, web server without workers, then "
            f"stopped); one `convodesk worker` (sender: up to "
            f"{env.get('CONVODESK_SEND_CONCURRENCY', '32')} at providers at once); fake Twilio: "
            f"uvicorn + httptools + uvloop, bare ASGI app, one process"
        )
        send_span = (stats["last"] or 0) - (stats["first"] or 0)
        print(
            f"    sent: {stats['posts']} POSTs to the fake ({stats['distinct']} distinct bodies)"
            f" in {send_span:.1f} s = {stats['posts'] / max(send_span, 1e-9):,.0f} messages/s"
        )
        print(
            f"    finished: {done} of {n} done/failed ({failed} failed) in {elapsed:.1f} s after"
            f" the queue was released = {done / elapsed:,.0f} messages/s"
        )
        print("  " + cpu_line(usage))
        print(
            f"    per message: worker {usage['worker'] / n * 1000:.2f} ms CPU, PostgreSQL "
            f"{usage['postgres'] / n * 1000:.2f} ms, fake Twilio "
            f"{usage['fake_twilio'] / n * 1000:.2f} ms"
        )
        if stats["posts"] != n or stats["distinct"] != n or done != n:
            print("    NOTE: not every message was sent exactly once and finished")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        fake.terminate()
        fake.wait(30)
        drop_database(url)


if __name__ == "__main__":
    main()
