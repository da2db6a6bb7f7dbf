"""How many messages per second go in (inbound ingest) and out (send through the API),
against what this PostgreSQL can do at all (single-row INSERTs, each its own commit).

    .venv/bin/python bench/message_throughput.py [--messages 5000] [--sends 5000]
        [--concurrency 50] [--peers 500] [--ceiling-rows 50000] [--client-processes 2]
        [--load httpx|wrk] [--wrk-seconds 10] [--server-workers 1] [--server-pool N]
        [--ingest-sweep 1,5,10,20]

(a) ingest: `messages.receive()` in this process, `--concurrency` asyncio tasks on a pool
    of as many connections, messages spread round-robin over `--peers` phone numbers (the
    first message from each opens its room, the rest join it).
(b) send: POST /v1.0/conversations/{id}/messages against a real `convodesk serve` (one
    worker process, its default pool, its sender worker marking messages sent), from
    `--client-processes` separate httpx load processes with `--concurrency` requests in
    flight in all, spread over the rooms of (a). One httpx process with 50 connections
    saturates its own core (~350 requests/s), hence 2 by default; even so they take about
    a third of the machine. `--load wrk` sends the same requests from `wrk` (apt install
    wrk; C, one thread, for `--wrk-seconds`), which leaves the cores to the server.
(c) ceiling: `INSERT INTO scratch ... VALUES (...)` in autocommit on `--concurrency`
    asyncpg connections, on the same database.
(d) the same work as (a) without the service layer: receive()'s statements for a
    message into an existing room (locks, lookups, writes, both events, pool reset) in
    plain asyncpg, `--concurrency` pooled connections: what the database and a lean
    client can do for that transaction shape; then two what-ifs of the per-customer
    event-order lock (see same_work_raw).
Each phase also says how busy the 2 cores were and who kept them busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg  # noqa: E402
import harness  # noqa: E402
import httpx  # noqa: E402
from harness import (  # noqa: E402
    DISTURBED,
    SERVER_KINDS,
    ActivitySampler,
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
    summary,
    undisturbed,
    undisturbed_async,
)

ADVISORY = {0x0C0DE5: "per-customer event-order lock", 0x0C0DE6: "per-address lock"}
"""The advisory lock classes of app/core/events.py and app/conversations/message_store.py."""


def peer_number(i: int) -> str:
    return f"+1202555{i:04d}"


# --- (a) inbound ingest through the service layer ---------------------------------------


async def ingest(
    url: str, customer_id: str, n: int, concurrency: int, peers: int, sweep: list[int]
) -> dict:
    from app.channels import accounts
    from app.conversations import messages
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.inbound import InboundMessage

    DB.config = engine_config(url)
    size = max([concurrency, *sweep])
    await DB.start_connection_pool(min_size=size, max_size=size)
    try:
        account = await accounts.create_account(
            customer_id,
            type="loopback",
            address="+15550001111",
            name="sms (loopback)",
            settings={"reference_type": "message"},
        )
        rooms: dict[str, str] = {}
        next_id = 0

        async def run(count: int, tasks: int) -> dict:
            nonlocal next_id
            latencies: list[float] = []
            counter = iter(range(next_id, next_id + count))
            next_id += count

            async def worker() -> None:
                for i in counter:
                    inbound = InboundMessage(
                        peer=peer_number(i % peers),
                        text=f"inbound message {i}",
                        provider_message_id=f"bench-in-{i}",
                    )
                    t = time.perf_counter()
                    got = await messages.receive(account, inbound)
                    latencies.append((time.perf_counter() - t) * 1000)
                    assert not got.duplicate
                    rooms[inbound.peer] = got.conversation_id

            async with ActivitySampler(url, advisory=ADVISORY) as activity:
                # (after the sampler: its backend counts as PostgreSQL)
                meter = CpuMeter(db_name(url), bench=os.getpid())
                started = time.perf_counter()
                await asyncio.gather(*[worker() for _ in range(tasks)])
                elapsed = time.perf_counter() - started
            usage = meter.stop()
            return {
                "rate": count / elapsed,
                "elapsed": elapsed,
                "latencies": latencies,
                "cpu": usage,
                "activity": activity,
            }

        main = await undisturbed_async(lambda: run(n, concurrency), label="ingest")
        main["rooms"] = sorted(set(rooms.values()))
        main["account_id"] = str(account.id)
        main["sweep"] = [
            (
                tasks,
                await undisturbed_async(
                    lambda t=tasks: run(min(n, 2000), t), label=f"sweep {tasks}"
                ),
            )
            for tasks in sweep
        ]
        main["statements"] = await statements_of(
            messages.receive(
                account,
                InboundMessage(
                    peer=peer_number(0), text="counted", provider_message_id="bench-counted"
                ),
            )
        )
        return main
    finally:
        await DB.close_connection_pool()


def _short(query: str) -> str:
    """`SELECT conversations`, `INSERT events`, `advisory lock`, `COMMIT` ..."""
    q = query.replace('"', "")
    if "pg_advisory_xact_lock" in q:
        return "advisory lock"
    if "pg_advisory_unlock_all" in q:
        return "pool reset"
    verb = q.split()[0].rstrip(";").upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", q, re.IGNORECASE)
    lock = " FOR UPDATE" if "FOR UPDATE" in q.upper() else ""
    return f"{verb} {table.group(1)}{lock}" if table else verb


async def statements_of(call) -> list[str]:
    """The statements one call sends to PostgreSQL (asyncpg's calls, counted while the
    call runs; the pool's reset of a released connection included)."""
    import asyncpg.connection

    sent: list[str] = []
    originals = {}
    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        originals[name] = original = getattr(asyncpg.connection.Connection, name)

        def counting(self, query, *args, _original=original, **kwargs):
            sent.append(_short(query))
            return _original(self, query, *args, **kwargs)

        setattr(asyncpg.connection.Connection, name, counting)
    try:
        await call
    finally:
        for name, original in originals.items():
            setattr(asyncpg.connection.Connection, name, original)
    return sent


# --- (b) send through the HTTP API, from separate load processes --------------------------


async def client_load(
    base: str, token: str, rooms: list[str], n: int, concurrency: int, offset: int
) -> dict:
    """One load process: `n` sends with `concurrency` in flight, rooms round-robin."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as c:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                room = rooms[(offset + i) % len(rooms)]
                t = time.perf_counter()
                r = await c.post(
                    f"/v1.0/conversations/{room}/messages", json={"text": f"reply {offset + i}"}
                )
                latencies.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 201, r.text

        cpu0 = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - started
        return {
            "elapsed": elapsed,
            "latencies": latencies,
            "client_cpu": time.process_time() - cpu0,
            "started": started,
        }


def client_main(spec: str) -> None:
    """Entry point of a load process: its job as JSON in argv, its results as JSON out."""
    job = json.loads(spec)
    print("ready", flush=True)  # imports done; the parent starts its meters, then says go
    sys.stdin.readline()
    result = asyncio.run(client_load(**job))
    print(json.dumps(result))


async def warm_up(server: Server, token: str, rooms: list[str], concurrency: int) -> None:
    """200 sends from here, before metering: the server's pool grows to its size, code
    paths get hot (they are not counted)."""
    async with httpx.AsyncClient(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as c:
        sem = asyncio.Semaphore(concurrency)

        async def warm(i: int) -> None:
            async with sem:
                r = await c.post(
                    f"/v1.0/conversations/{rooms[i % len(rooms)]}/messages",
                    json={"text": "warm-up"},
                )
                assert r.status_code == 201, r.text

        await asyncio.gather(*[warm(i) for i in range(200)])


async def send_load(
    server: Server, url: str, token: str, rooms: list[str], n: int, concurrency: int, processes: int
) -> dict:
    await warm_up(server, token, rooms, concurrency)
    per = [n // processes + (1 if k < n % processes else 0) for k in range(processes)]
    conc = [
        concurrency // processes + (1 if k < concurrency % processes else 0)
        for k in range(processes)
    ]
    procs = []
    for k in range(processes):
        job = {
            "base": server.url,
            "token": token,
            "rooms": rooms,
            "n": per[k],
            "concurrency": conc[k],
            "offset": sum(per[:k]),
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client",
                json.dumps(job),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
    for p in procs:
        assert (await p.stdout.readline()).strip() == b"ready"
    async with ActivitySampler(url, advisory=ADVISORY) as activity:
        # the server with its worker processes; the sampler's backend counts as PostgreSQL
        meter = CpuMeter(db_name(url), server=server.proc.pid)
        started = time.perf_counter()
        for p in procs:
            p.stdin.write(b"go\n")
        outputs = [(await p.communicate())[0] for p in procs]
    usage = meter.stop()
    wall = time.perf_counter() - started
    if any(p.returncode != 0 for p in procs):
        raise RuntimeError("a load process failed")
    results = [json.loads(o) for o in outputs]
    latencies = [ms for r in results for ms in r["latencies"]]
    # the sends ran in parallel: the rate is all of them over the longest run
    elapsed = max(r["elapsed"] for r in results)
    usage["clients"] = sum(r["client_cpu"] for r in results)
    return {
        "rate": n / elapsed,
        "latencies": latencies,
        "cpu": usage,
        "wall": wall,
        "activity": activity,
        "client_cpu": sum(r["client_cpu"] for r in results),
        "elapsed": elapsed,
    }


WRK_SCRIPT = """
local rooms = {%(rooms)s}
local headers = {["Authorization"] = "Bearer %(token)s",
                 ["Content-Type"] = "application/json"}
local i = 0
request = function()
  i = i + 1
  local room = rooms[(i %% #rooms) + 1]
  return wrk.format("POST", "/v1.0/conversations/" .. room .. "/messages", headers,
                    '{"text": "reply ' .. i .. '"}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "us": %%d, "p50": %%d, "p95": %%d, "p99": %%d, "mean": %%f,'
    .. ' "non2xx": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


async def send_load_wrk(
    server: Server, url: str, token: str, rooms: list[str], seconds: float, concurrency: int
) -> dict:
    """The same sends from `wrk` (C, one thread, `concurrency` connections) for `seconds`:
    a load generator that leaves the 2 cores to the server and PostgreSQL."""
    import resource
    import tempfile

    await warm_up(server, token, rooms, concurrency)
    script = WRK_SCRIPT % {"rooms": ", ".join(f'"{r}"' for r in rooms), "token": token}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        async with ActivitySampler(url, advisory=ADVISORY) as activity:
            meter = CpuMeter(db_name(url), server=server.proc.pid)
            proc = await asyncio.create_subprocess_exec(
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{round(seconds)}s",
                "--timeout",
                "30s",
                "-s",
                lua.name,
                server.url,
                stdout=subprocess.PIPE,
            )
            out, _ = await proc.communicate()
        usage = meter.stop()
        if proc.returncode != 0 or b"RESULT " not in out:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {out.decode()[-2000:]}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage["clients"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = [x for x in out.decode().splitlines() if x.startswith("RESULT ")][-1]
    r = json.loads(line.removeprefix("RESULT "))
    if r["non2xx"] or r["errors"]:
        raise RuntimeError(f"wrk saw failures: {r}")
    elapsed = r["us"] / 1e6
    return {
        "rate": r["requests"] / elapsed,
        "elapsed": elapsed,
        "n": r["requests"],
        "p50": r["p50"] / 1000,
        "p95": r["p95"] / 1000,
        "p99": r["p99"] / 1000,
        "cpu": usage,
        "activity": activity,
    }


async def sender_backlog(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        queued = await conn.fetchval(
            "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
        )
        sent = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'done'"
        )
        return queued, sent
    finally:
        await conn.close()


# --- (c) the ceiling: one-row INSERTs, each its own commit -------------------------------


async def ceiling(url: str, rows: int, concurrency: int) -> dict:
    setup = await asyncpg.connect(url)
    await setup.execute(
        "CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, k text NOT NULL,"
        " body text NOT NULL, tm_create timestamptz NOT NULL DEFAULT now())"
    )
    conns = [await asyncpg.connect(url) for _ in range(concurrency)]
    try:
        for c in conns:  # prepare once per connection, like a pool would
            await c.execute("INSERT INTO bench_scratch (k, body) VALUES ($1, $2)", "warm", "x")
        counter = iter(range(rows))

        async def worker(conn: asyncpg.Connection) -> None:
            for i in counter:
                await conn.execute(
                    "INSERT INTO bench_scratch (k, body) VALUES ($1, $2)",
                    f"row-{i}",
                    f"inbound message {i}",
                )

        async with ActivitySampler(url, advisory=ADVISORY) as activity:
            meter = CpuMeter(db_name(url), bench=os.getpid())  # after: counts the sampler's backend
            started = time.perf_counter()
            await asyncio.gather(*[worker(c) for c in conns])
            elapsed = time.perf_counter() - started
        usage = meter.stop()
        return {"rate": rows / elapsed, "elapsed": elapsed, "cpu": usage, "activity": activity}
    finally:
        for c in conns:
            await c.close()
        await setup.execute("DROP TABLE bench_scratch")
        await setup.close()


# --- (d) the same work as receive(), in plain asyncpg --------------------------------------


SAME_WORK = (
    "BEGIN, advisory lock, SELECT messages, SELECT participants FOR UPDATE, "
    "INSERT messages, UPDATE conversations, advisory lock, INSERT events, COMMIT, "
    "pool reset"
)
"""The statements of same_work_raw("as-is"), written like _short() names them, to check
against what receive() does at the time of the run."""


async def same_work_raw(
    url: str,
    customer_id: str,
    account_id: str,
    n: int,
    concurrency: int,
    peers: int,
    shape: str = "as-is",
    first: int = 0,
) -> dict:
    """receive() of a message into its existing room, statement for statement (SAME_WORK:
    the same locks, lookups and writes, both events in one INSERT under the per-customer
    event-order lock at the end, one transaction, a pool that resets released
    connections), without the service layer: what PostgreSQL and a lean client can do
    for that transaction shape.

    `shape`: "as-is"; "lock-in-insert" (what-if: the event-order lock taken inside the
    events INSERT, one round trip less under the lock); "no-event-lock" (what-if: no
    per-customer serialization at all)."""
    import hashlib
    from datetime import UTC, datetime

    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    me = json.dumps({"type": "tel", "target": "+15550001111", "target_name": "me", "name": ""})
    counter = iter(range(first, first + n))
    kinds = ["conversation_message_created", "conversation_message_received"]
    insert_events = (
        "INSERT INTO events (customer_id, type, topics, payload, audience, tm_create)"
        " SELECT $1, k, $3, $4::json, $5::uuid[], $6"
        " FROM {lock}unnest($2::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n RETURNING id"
    )

    async def worker() -> None:
        for i in counter:
            peer = peer_number(i % peers)
            key = int.from_bytes(
                hashlib.sha256(f"{customer_id}|tel|{peer}".encode()).digest()[:4]
            ) - (1 << 31)
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", 0x0C0DE6, key)
                dup = await conn.fetchrow(
                    "SELECT * FROM messages WHERE account_id = $1 AND provider_message_id <> ''"
                    " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2",
                    account_id,
                    f"bench-raw-{i}",
                )
                assert dup is None
                room = await conn.fetchrow(
                    "SELECT c.*, p.id AS p_id, p.target_name AS p_target_name"
                    " FROM participants p JOIN conversations c ON c.id = p.conversation_id"
                    " WHERE p.customer_id = $1 AND p.type = 'tel' AND p.target = $2"
                    " AND p.tm_delete IS NULL AND c.tm_delete IS NULL AND c.status <> 'closed'"
                    " ORDER BY c.tm_activity DESC LIMIT 1 FOR UPDATE OF c",
                    customer_id,
                    peer,
                )
                stamp = datetime.now(UTC)
                source = json.dumps(
                    {
                        "type": "tel",
                        "target": peer,
                        "target_name": room["p_target_name"],
                        "name": "",
                    }
                )
                text = f"raw message {i}"
                row = await conn.fetchrow(
                    "INSERT INTO messages (customer_id, conversation_id, participant_id,"
                    " account_id, direction, status, reference_type, reference_id, source,"
                    " destination, text, medias, provider_message_id, tm_create, tm_update)"
                    " VALUES ($1, $2, $3, $4, 'inbound', 'done', 'message', $5, $6::jsonb,"
                    " $7::jsonb, $8, '[]', $9, $10, $10) RETURNING *",
                    customer_id,
                    room["id"],
                    room["p_id"],
                    account_id,
                    peer,
                    source,
                    me,
                    text,
                    f"bench-raw-{i}",
                    stamp,
                )
                await conn.fetchrow(
                    "UPDATE conversations SET last_message = $2, tm_last_message = $3,"
                    " tm_activity = $3, tm_update = $3, status = 'active' WHERE id = $1"
                    " RETURNING *",
                    room["id"],
                    text,
                    stamp,
                )
                payload = json.dumps({k: str(v) for k, v in dict(row).items()})
                topic = f"customer_id:{customer_id}:conversation:{room['id']}"
                args = (customer_id, kinds, [topic], payload, [], stamp)
                if shape == "as-is":
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))", 0x0C0DE5, customer_id
                    )
                    await conn.fetch(insert_events.format(lock=""), *args)
                elif shape == "lock-in-insert":
                    await conn.fetch(
                        insert_events.format(
                            lock="(SELECT pg_advisory_xact_lock($7, hashtext($8))) AS l, "
                        ),
                        *args,
                        0x0C0DE5,
                        customer_id,
                    )
                else:
                    await conn.fetch(insert_events.format(lock=""), *args)

    try:
        async with ActivitySampler(url, advisory=ADVISORY) as activity:
            meter = CpuMeter(db_name(url), bench=os.getpid())  # after: counts the sampler's backend
            started = time.perf_counter()
            await asyncio.gather(*[worker() for _ in range(concurrency)])
            elapsed = time.perf_counter() - started
        usage = meter.stop()
        return {"rate": n / elapsed, "elapsed": elapsed, "cpu": usage, "activity": activity}
    finally:
        await pool.close()


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--peers", type=int, default=500)
    parser.add_argument("--ceiling-rows", type=int, default=50000)
    parser.add_argument(
        "--load",
        choices=("httpx", "wrk"),
        default="httpx",
        help="(b)'s load generator: httpx processes, or wrk if installed",
    )
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="load processes for (b); one httpx client with 50 connections "
        "saturates its core at ~350 requests/s",
    )
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument(
        "--server",
        choices=SERVER_KINDS,
        default="convodesk",
        help="(b)'s HTTP server: `convodesk serve`, or the app under another server",
    )
    parser.add_argument(
        "--server-pool",
        type=int,
        default=None,
        help="CONVODESK_DB_POOL_SIZE of the server (default: its own, 10)",
    )
    parser.add_argument(
        "--ingest-sweep",
        default="",
        help="after (a), ingest again with these task counts, e.g. 1,10,50",
    )
    parser.add_argument(
        "--send-only",
        action="store_true",
        help="stop after (b): to compare HTTP servers (--server) on the send path",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=300,
        help="seconds each phase waits for a quiet machine (0: measure at once)",
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="measure a disturbed phase again this often"
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)  # a load process's job
    args = parser.parse_args()
    if args.client:
        client_main(args.client)
        return
    harness.PATIENCE.update(quiet=args.patience, retries=args.retries)

    url = fresh_database()
    env = env_for(url)
    restore = bind_app_to(url)  # app modules bind their engine at import
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
        print(
            f"2 cores; PostgreSQL on 127.0.0.1; concurrency {args.concurrency}; each phase "
            f"starts on a quiet machine and is measured again (up to 3 times) when other "
            f"load kept > {DISTURBED} cores busy during it",
            flush=True,
        )

        sweep = [int(x) for x in args.ingest_sweep.split(",") if x]
        a = asyncio.run(
            ingest(url, customer_id, args.messages, args.concurrency, args.peers, sweep)
        )
        print(
            f"(a) ingest: {args.messages} messages via messages.receive(), "
            f"{len(a['rooms'])} rooms, {args.concurrency} tasks in-process"
        )
        print(f"    {a['rate']:,.0f} messages/s ({a['elapsed']:.1f} s)")
        print("    " + summary("receive() latency", a["latencies"]))
        print("  " + cpu_line(a["cpu"]))
        print("    what the bench database's backends were doing (non-idle samples):")
        print("\n".join(a["activity"].lines()))
        print(
            f"    one receive() into an existing room = {len(a['statements'])} statements: "
            + ", ".join(a["statements"])
        )
        for tasks, run in a["sweep"]:
            top, share = run["activity"].shares()[0]
            print(
                f"    sweep: {tasks:3d} tasks {run['rate']:6,.0f} messages/s, median "
                f"{statistics.median(run['latencies']):6.1f} ms, this process "
                f"{run['cpu']['bench'] / len(run['latencies']) * 1000:.2f} ms CPU/message,"
                f" PostgreSQL {run['cpu']['postgres'] / len(run['latencies']) * 1000:.2f}"
                f" ms; top wait {share:.0%} {top}; unaccounted cpu {others(run['cpu']):.2f}"
            )

        extra = {}
        if args.server_pool:
            extra["CONVODESK_DB_POOL_SIZE"] = str(args.server_pool)
        server = Server(env_for(url, **extra), workers=args.server_workers, kind=args.server)
        try:
            login = {"username": "bench-admin", "password": "bench-password"}
            token = httpx.post(server.url + "/auth/login", json=login).json()["token"]

            def send_and_drain() -> dict:
                if args.load == "wrk":
                    b = asyncio.run(
                        send_load_wrk(
                            server, url, token, a["rooms"], args.wrk_seconds, args.concurrency
                        )
                    )
                else:
                    b = asyncio.run(
                        send_load(
                            server,
                            url,
                            token,
                            a["rooms"],
                            args.sends,
                            args.concurrency,
                            args.client_processes,
                        )
                    )
                drained_at = time.perf_counter()
                while asyncio.run(sender_backlog(url))[0] and time.perf_counter() - drained_at < 60:
                    time.sleep(0.2)
                b["queued"], b["sent"] = asyncio.run(sender_backlog(url))
                b["drain"] = time.perf_counter() - drained_at
                return b

            b = undisturbed(send_and_drain, label="send")
            queued, sent, drain = b["queued"], b["sent"], b["drain"]
        finally:
            server.stop()
        loader = (
            f"wrk (1 thread) for {args.wrk_seconds:.0f} s"
            if args.load == "wrk"
            else f"{args.client_processes} httpx load process(es)"
        )
        sends = b["n"] if args.load == "wrk" else args.sends
        print(
            f"(b) send: {sends} POST /v1.0/conversations/{{id}}/messages over "
            f"{len(a['rooms'])} rooms, {args.concurrency} in flight from {loader}; server: "
            f"{args.server}, {args.server_workers} worker process(es), pool "
            f"{args.server_pool or 'default (10)'}"
        )
        if args.load == "wrk":
            print(f"    {b['rate']:,.0f} messages/s ({b['elapsed']:.1f} s)")
            print(
                f"    {'request latency (wrk)':<44} n={b['n']:<5} median={b['p50']:7.2f} ms"
                f"  p95={b['p95']:7.2f} ms  p99={b['p99']:7.2f} ms"
            )
        else:
            print(f"    {b['rate']:,.0f} messages/s ({b['elapsed']:.1f} s)")
            print("    " + summary("request latency", b["latencies"]))
        print("  " + cpu_line(b["cpu"]))
        print("    what the bench database's backends were doing (non-idle samples):")
        print("\n".join(b["activity"].lines()))
        print(
            f"    sender worker: {sent} outbound messages marked done; backlog {queued} "
            f"left {drain:.1f} s after the last send returned"
        )
        if args.send_only:
            print(f"    other load during (b): {b['disturbed']:.2f} cores")
            return

        c = undisturbed(
            lambda: asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency)), label="ceiling"
        )
        print(
            f"(c) ceiling: {args.ceiling_rows} single-row INSERTs, autocommit, "
            f"{args.concurrency} connections"
        )
        print(f"    {c['rate']:,.0f} rows/s ({c['elapsed']:.1f} s)")
        print("  " + cpu_line(c["cpu"]))
        print("    what the bench database's backends were doing (non-idle samples):")
        print("\n".join(c["activity"].lines()))

        shapes = {}
        batches = iter(range(0, 10**9, args.messages))  # fresh provider ids on every run
        for shape in ("as-is", "lock-in-insert", "no-event-lock"):
            shapes[shape] = d = undisturbed(
                lambda s=shape: asyncio.run(
                    same_work_raw(
                        url,
                        customer_id,
                        a["account_id"],
                        args.messages,
                        args.concurrency,
                        args.peers,
                        s,
                        first=next(batches),
                    )
                ),
                label=shape,
            )
            if shape == "as-is":
                same = ", ".join(a["statements"]) == SAME_WORK
                print(
                    f"(d) the same work as (a) in plain asyncpg, {args.concurrency} pooled "
                    f"connections: {SAME_WORK}"
                    + ("" if same else "  (NOTE: receive() now differs from this)")
                )
            label = {
                "as-is": "as receive() does it",
                "lock-in-insert": "what-if: event lock inside the events INSERT",
                "no-event-lock": "what-if: no event-order lock",
            }[shape]
            top, share = d["activity"].shares()[0]
            print(
                f"    {label:<50} {d['rate']:6,.0f} messages/s; client "
                f"{d['cpu']['bench'] / args.messages * 1000:.2f} ms CPU/message, PostgreSQL "
                f"{d['cpu']['postgres'] / args.messages * 1000:.2f} ms; "
                f"top wait {share:.0%} {top}; unaccounted cpu {others(d['cpu']):.2f}"
            )
        d = shapes["as-is"]

        print(
            f"ingest/ceiling = {a['rate'] / c['rate']:.3f}   "
            f"send/ceiling = {b['rate'] / c['rate']:.3f}   "
            f"ingest/same-work-in-asyncpg = {a['rate'] / d['rate']:.2f}"
        )

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        print(
            f"targets: ingest >= 1,000/s {verdict(a['rate'] >= 1000)}, send >= 1,000/s "
            f"{verdict(b['rate'] >= 1000)}, ingest >= 1/3 of the ceiling "
            f"{verdict(a['rate'] >= c['rate'] / 3)}, send >= 1/3 of the ceiling "
            f"{verdict(b['rate'] >= c['rate'] / 3)}"
        )
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
