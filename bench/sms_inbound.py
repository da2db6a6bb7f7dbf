"""How many inbound SMS per second a `convodesk serve` takes in Twilio's wire format over
real HTTP (signed form POSTs to /hooks/sms/{account_id}), against what this PostgreSQL
can do at all (single-row INSERTs, each its own commit), measured in the same run.

    .venv/bin/python bench/sms_inbound.py [--messages 10000] [--concurrency 50]
        [--peers 3000] [--ceiling-rows 50000] [--server-workers 1] [--server-pool N]
        [--wait-quiet] [--profile] [--what-if]

Load: `--concurrency` keep-alive connections from a minimal asyncio HTTP/1.1 client in
this process; every request (a form like Twilio's, ~20 fields, its own MessageSid) is
built and signed before the clock starts, so the client spends its CPU on sockets only.
Message i comes from peer i % `--peers`: the first message from each number opens its
room, the rest join it. A warm-up from other numbers runs first (not counted).

`--what-if` then takes the same load (new numbers, same peers) into a server without the
event writers' per-customer lock (bench/whatif.py): what ordering costs, in the same run.

`--profile` then runs the hook path in this process under cProfile (channels.hooks.handle
with the same requests: the driver's verify and parse, then messages.receive) and prints
where its time goes, beside the server's CPU per request over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import statistics
import sys
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    CpuMeter,
    Server,
    bind_app_to,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    fresh_database,
    others,
    percentile,
    undisturbed,
)
from message_throughput import ceiling  # noqa: E402

PUBLIC = "https://bench.example.test"
ACCOUNT_SID = "AC" + "b3" * 16
AUTH_TOKEN = "bench-twilio-auth-token-" + "x" * 8
OUR_NUMBER = "+14155550100"


def sms_account(url: str) -> tuple[str, str]:
    """Signed in as the bench's admin, a Twilio number on the server at `url`: (a token,
    the number's webhook path)."""
    login = {"username": "bench-admin", "password": "bench-password"}
    token = httpx.post(url + "/auth/login", json=login).json()["token"]
    r = httpx.post(
        url + "/v1.0/conversation_accounts",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "type": "sms",
            "settings": {"phone_number": OUR_NUMBER, "account_sid": ACCOUNT_SID},
            "secrets": {"auth_token": AUTH_TOKEN},
        },
    )
    assert r.status_code == 201, r.text
    return token, f"/hooks/sms/{r.json()['id']}"


def peer_number(i: int) -> str:
    return f"+1202555{i:04d}"


def signed(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature, as Twilio documents it."""
    data = url + "".join(k + v for k, v in sorted(params, key=lambda p: p[0]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_form(sid: str, peer: str, text: str) -> list[tuple[str, str]]:
    return [
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "20001"),
        ("SmsSid", sid),
        ("FromState", "DC"),
        ("SmsStatus", "received"),
        ("FromCity", "WASHINGTON"),
        ("Body", text),
        ("FromCountry", "US"),
        ("To", OUR_NUMBER),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", peer),
        ("ApiVersion", "2010-04-01"),
    ]


class Prepared:
    """One signed webhook request: its raw HTTP/1.1 bytes and its parts (for --profile)."""

    def __init__(self, host: str, path: str, params: list[tuple[str, str]]) -> None:
        self.path = path
        self.body = urlencode(params).encode()
        self.signature = signed(AUTH_TOKEN, PUBLIC + path, params)
        self.raw = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {self.signature}\r\nI-Twilio-Idempotency-Token: {id(self)}\r\n"
            f"User-Agent: TwilioProxy/1.1\r\nContent-Length: {len(self.body)}\r\n\r\n"
        ).encode() + self.body


def prepare(host: str, path: str, first: int, n: int, peers, tag: str) -> list[Prepared]:
    return [
        Prepared(
            host,
            path,
            twilio_form(f"SM{tag}{i:030x}", peers(i), f"Hello from the bench, message {i}"),
        )
        for i in range(first, first + n)
    ]


async def _exchange(reader, writer, raw: bytes) -> int:
    writer.write(raw)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def load(host: str, port: int, requests: list[Prepared], concurrency: int) -> dict:
    """Send every request over `concurrency` keep-alive connections; the latencies."""
    latencies: list[float] = []
    failures: list[int] = []
    queue = iter(requests)
    conns = [await asyncio.open_connection(host, port) for _ in range(concurrency)]

    async def worker(reader, writer) -> None:
        for request in queue:
            t = time.perf_counter()
            status = await _exchange(reader, writer, request.raw)
            latencies.append((time.perf_counter() - t) * 1000)
            if status != 200:
                failures.append(status)

    started = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - started
    for _, writer in conns:
        writer.close()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return {"elapsed": elapsed, "latencies": latencies, "rate": len(requests) / elapsed}


async def counts(url: str) -> tuple[int, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        messages = await conn.fetchval("SELECT count(*) FROM messages WHERE direction='inbound'")
        rooms = await conn.fetchval("SELECT count(*) FROM conversations")
        return messages, rooms
    finally:
        await conn.close()


# --- --profile: the hook path in this process ----------------------------------------------


async def profile_hook_path(url: str, account_id: str, requests: list[Prepared]) -> None:
    """channels.hooks.handle() on the same requests, under cProfile: where the server's
    time per webhook goes, without HTTP."""
    import cProfile
    import pstats

    from app.channels import HookRequest, get_driver, hooks, runtime
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.settings import Settings

    runtime.configure(Settings.from_env().with_overrides(public_url=PUBLIC))
    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=10, max_size=10)

    def hook_request(p: Prepared) -> HookRequest:
        return HookRequest(
            method="POST",
            url=PUBLIC + p.path,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-twilio-signature": p.signature,
            },
            body=p.body,
        )

    try:
        driver = get_driver("sms")
        account = {"secrets": {"auth_token": AUTH_TOKEN}}
        t = time.perf_counter()
        for p in requests[:2000]:
            assert driver.verify(account, hook_request(p))
        verify_us = (time.perf_counter() - t) / min(2000, len(requests)) * 1e6
        print(f"    driver.verify(): {verify_us:.1f} µs per request (2 HMAC-SHA1, both URL forms)")

        sem = asyncio.Semaphore(10)

        async def one(p: Prepared) -> None:
            async with sem:
                await hooks.handle("sms", account_id, hook_request(p))

        profiler = cProfile.Profile()
        cpu0, t0 = time.process_time(), time.perf_counter()
        profiler.enable()
        await asyncio.gather(*(one(p) for p in requests))
        profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        n = len(requests)
        print(
            f"    hooks.handle() in-process (10 tasks, profiled): {n / wall:,.0f} messages/s,"
            f" {cpu / n * 1000:.2f} ms CPU per message (under the profiler)"
        )
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative")
        wanted = [
            "handle",
            "verify",
            "parse",
            "receive",
            "_place",
            "_insert_message",
            "_after_message",
            "record_event",
            "account_for_hook",
            "normalize_address",
            "transaction",
        ]
        rows = []
        for (file, _, func), (_, calls, _tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if func in wanted and "/app/" in file:
                rows.append((ct, func, file.split("/app/")[-1], calls))
        for ct, func, file, calls in sorted(rows, reverse=True):
            print(
                f"      {ct / n * 1000:6.3f} ms/msg cumulative  {func:<20} {file} ({calls} calls)"
            )
    finally:
        await DB.close_connection_pool()


# --- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--peers", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--ceiling-rows", type=int, default=50000)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--server-pool", type=int, default=None)
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="start each phase on a quiet machine and measure again when disturbed",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--what-if", action="store_true", dest="what_if")
    args = parser.parse_args()

    url = fresh_database()
    extra = {"CONVODESK_PUBLIC_URL": PUBLIC, "CONVODESK_SMTP_PORT": "0"}
    if args.server_pool:
        extra["CONVODESK_DB_POOL_SIZE"] = str(args.server_pool)
    env = env_for(url, **extra)
    restore = bind_app_to(url)
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
        server = Server(env, workers=args.server_workers)
        whatif: dict | None = None
        try:
            _, path = sms_account(server.url)
            account_id = path.rsplit("/", 1)[1]
            host = f"127.0.0.1:{server.port}"
            warm = prepare(host, path, 0, args.warmup, lambda i: f"+1303555{i % 100:04d}", "w")
            asyncio.run(load("127.0.0.1", server.port, warm, args.concurrency))
            batches = iter(range(0, 10**9, args.messages))

            def measure() -> dict:
                first = next(batches)
                requests = prepare(
                    host, path, first, args.messages, lambda i: peer_number(i % args.peers), "m"
                )
                # (not bench=os.getpid(): the server is this process's child, and a pid's
                # figure includes its children's)
                meter = CpuMeter(db_name(url), server=server.proc.pid)
                client0 = time.process_time()
                result = asyncio.run(load("127.0.0.1", server.port, requests, args.concurrency))
                result["cpu"] = meter.stop()
                result["cpu"]["client"] = time.process_time() - client0
                return result

            if args.wait_quiet:
                a = undisturbed(measure, label="inbound")
            else:
                a = measure()
                a["disturbed"] = others(a["cpu"])
            if args.what_if:
                server.stop()
                server = Server(env, kind="whatif")
                whatif = undisturbed(measure, label="what-if") if args.wait_quiet else measure()
            stored, rooms = asyncio.run(counts(url))
        finally:
            server.stop()
        print(
            f"2 cores; PostgreSQL on 127.0.0.1; server: {args.server_workers} worker "
            f"process(es), pool {args.server_pool or 'default (10)'}; client: "
            f"{args.concurrency} keep-alive connections, raw asyncio HTTP/1.1, pre-signed"
        )
        print(
            f"(a) inbound: {args.messages} signed Twilio webhooks POST /hooks/sms/{{id}}, "
            f"{args.peers} distinct From numbers (each first message opens a room)"
        )
        lat = a["latencies"]
        print(f"    {a['rate']:,.0f} messages/s ({a['elapsed']:.1f} s)")
        print(
            f"    latency p50 {statistics.median(lat):.1f} ms  p95 {percentile(lat, 95):.1f} ms"
            f"  p99 {percentile(lat, 99):.1f} ms"
        )
        print("  " + cpu_line(a["cpu"]))
        n = args.messages
        print(
            f"    per message: server {a['cpu']['server'] / n * 1000:.2f} ms CPU, PostgreSQL "
            f"{a['cpu']['postgres'] / n * 1000:.2f} ms, client {a['cpu']['client'] / n * 1000:.2f}"
            f" ms"
        )
        if whatif is not None:
            lat = whatif["latencies"]
            print(
                f"(w) what-if, the same load into a server without the event writers' lock: "
                f"{whatif['rate']:,.0f} messages/s; p50 {statistics.median(lat):.1f} ms  p99 "
                f"{percentile(lat, 99):.1f} ms; server "
                f"{whatif['cpu']['server'] / n * 1000:.2f} ms CPU/message, PostgreSQL "
                f"{whatif['cpu']['postgres'] / n * 1000:.2f} ms"
            )
            print(f"    with the lock / without = {a['rate'] / whatif['rate']:.2f} (target >= 0.9)")
        runs = next(batches) // args.messages
        expected = args.warmup + args.messages * runs
        print(
            f"    stored: {stored} inbound messages in {rooms} rooms (expected {expected}"
            f" messages in {min(100, args.warmup)} + {min(args.peers, args.messages)} rooms)"
        )
        if stored != expected:
            raise RuntimeError("the server did not store every webhook exactly once")

        if args.wait_quiet:
            c = undisturbed(
                lambda: asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency)),
                label="ceiling",
            )
        else:
            c = asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency))
        print(
            f"(c) ceiling: {args.ceiling_rows} single-row INSERTs, autocommit, "
            f"{args.concurrency} connections"
        )
        print(f"    {c['rate']:,.0f} rows/s ({c['elapsed']:.1f} s)")
        print("  " + cpu_line(c["cpu"]))
        print(
            f"inbound/ceiling = {a['rate'] / c['rate']:.3f}; target >= 1,000 messages/s "
            + ("met" if a["rate"] >= 1000 else "MISSED")
        )

        if args.profile:
            print("(p) profile of the hook path, in this process:")
            requests = prepare("x", path, 10**8, 3000, lambda i: f"+1404555{i % 1000:04d}", "p")
            asyncio.run(profile_hook_path(url, account_id, requests))
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
