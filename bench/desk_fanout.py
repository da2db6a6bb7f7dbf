"""1,000 desk websockets on one server process; one inbound message to a room every one of
them may see: how long until every socket has the fragment, and what a socket costs.

    .venv/bin/python bench/desk_fanout.py [--sockets 1000] [--agents 100] [--messages 20]
        [--processes 1]

Setup: a fresh database; `--agents` agents (role `agent`, so the room must be unassigned
for them to see it), `--sockets` desk sockets spread over them, each a signed-in inbox
page's connection (session cookie, Origin, `since`), held by one client process. A producer
in this process commits inbound messages through the service layer, one at a time, and
announces them on the Redis bus as a worker process would. `--processes 2`: the sockets
round-robin over two server processes. For each message: the time
from its commit to the arrival of its row fragment on each socket; p50/p99/max over all
sockets and messages. Memory: the server's resident set before and after the sockets
connect, per socket.
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

import psutil  # noqa: E402
from harness import (  # noqa: E402
    REDIS_URL,
    SECRET,
    Server,
    bench_outbox,
    bind_app_to,
    cli,
    drop_database,
    env_for,
    fresh_database,
    percentile,
)


async def run(url: str, servers: list[Server], customer_id: str, args, env: dict[str, str]) -> None:
    from websockets.asyncio.client import connect

    from app.channels import accounts
    from app.conversations import messages
    from app.core import bus
    from app.core.events import last_event_id
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.inbound import InboundMessage
    from app.people import auth

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=4, max_size=4)
    outbox, close_outbox = await bench_outbox(env)
    bus.attach(outbox)
    try:
        import asyncpg

        conn = await asyncpg.connect(url)
        hash_ = await conn.fetchval("SELECT password_hash FROM agents LIMIT 1")
        agents = await conn.fetch(
            "INSERT INTO agents (id, customer_id, username, name, detail, password_hash,"
            " permission, status, tm_create, tm_update)"
            " SELECT gen_random_uuid(), $1, 'fan-' || i, 'Fan ' || i, '', $2, 'agent',"
            " 'active', now(), now() FROM generate_series(1, $3) i"
            " RETURNING id, customer_id, username",
            customer_id,
            hash_,
            args.agents,
        )
        await conn.close()
        tokens = [
            auth.issue_token(str(a["id"]), str(a["customer_id"]), a["username"], SECRET, 3600)
            for a in agents
        ]
        account = await accounts.create_account(
            customer_id,
            type="loopback",
            address="+15550001111",
            settings={"reference_type": "message"},
        )
        first = await messages.receive(account, InboundMessage(peer="+15559876543", text="hi"))
        room = first.conversation_id
        since = await last_event_id(customer_id)

        procs = [psutil.Process(s.proc.pid) for s in servers]
        rss_before = sum(p.memory_info().rss for p in procs)
        sockets = []
        started = time.perf_counter()
        for i in range(args.sockets):  # round-robin over the server processes
            server = servers[i % len(servers)]
            ws_url = server.url.replace("http://", "ws://") + f"/desk/ws?since={since}&view=all"
            token = tokens[i % len(tokens)]
            ws = await connect(
                ws_url,
                additional_headers={"Cookie": f"token={token}", "Origin": server.url},
                max_size=None,
            )
            sockets.append(ws)
        for ws in sockets:  # each says it caught up
            while 'data-state="live"' not in await ws.recv():
                pass
        connect_s = time.perf_counter() - started
        await asyncio.sleep(1.0)
        rss_after = sum(p.memory_info().rss for p in procs)
        per_socket_kib = (rss_after - rss_before) / args.sockets / 1024

        latencies: list[float] = []
        slowest: list[float] = []
        cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
        for n in range(args.messages):
            text = f"fan-out probe {n}"
            waiters = [asyncio.create_task(_until(ws, text)) for ws in sockets]
            await asyncio.sleep(0.05)
            got = await messages.receive(account, InboundMessage(peer="+15559876543", text=text))
            committed = time.perf_counter()
            arrivals = await asyncio.gather(*waiters)
            these = [(t - committed) * 1000 for t in arrivals]
            latencies += these
            slowest.append(max(these))
            assert got.conversation_id == room
            await asyncio.sleep(0.2)
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in procs) - cpu0
        for ws in sockets:
            await ws.close()

        print(
            f"{args.sockets} desk sockets ({args.agents} agents) on {len(servers)} server "
            f"process(es) sharing the Redis bus (the producer announces as a worker does); "
            f"connected and caught up in {connect_s:.1f} s"
        )
        print(
            f"server memory: {rss_before / 2**20:.0f} MiB before, {rss_after / 2**20:.0f} MiB "
            f"with the sockets open: {per_socket_kib:.0f} KiB per socket"
        )
        print(
            f"commit -> fragment on a socket, {args.messages} messages x {args.sockets} sockets:"
            f" p50 {percentile(latencies, 50):.1f} ms  p99 {percentile(latencies, 99):.1f} ms"
            f"  max {max(latencies):.1f} ms"
        )
        print(
            f"until the last socket has it, per message: median "
            f"{statistics.median(slowest):.1f} ms  worst {max(slowest):.1f} ms"
            f"   (target p99 < 250 ms)"
        )
        print(
            f"frames per message and socket until the probe's: "
            f"{FRAMES[0] / args.messages / args.sockets:.1f}"
        )
        print(
            f"server CPU per message and socket: {cpu / args.messages / args.sockets * 1e6:.0f}"
            f" µs ({cpu / args.messages * 1000:.0f} ms per message for all {args.sockets})"
        )
    finally:
        bus.attach(None)
        await close_outbox()
        await DB.close_connection_pool()


FRAMES = [0]
"""Frames the sockets received while waiting for the probes (all sockets, all messages)."""


async def _until(ws, text: str) -> float:
    while True:
        frame = await ws.recv()
        FRAMES[0] += 1
        if text in frame:
            return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--processes", type=int, default=1, help="server processes")
    parser.add_argument("--profile", help="write the (first) server's cProfile stats here")
    args = parser.parse_args()
    url = fresh_database()
    restore = bind_app_to(url)  # app modules bind their engine at import
    env = env_for(url, CONVODESK_REDIS_URL=REDIS_URL, CONVODESK_DB_POOL_SIZE="20")
    try:
        cli(env, "migrate")
        made = json.loads(
            cli(
                env,
                "customer",
                "create",
                "--name",
                "Fan",
                "--username",
                "fan-admin",
                "--password",
                "fan-password",
            )
        )
        servers = [
            Server(env, profile=args.profile if i == 0 else None) for i in range(args.processes)
        ]
        try:
            asyncio.run(run(url, servers, made["customer_id"], args, env))
        finally:
            for server in servers:
                server.stop()
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
