"""A hot room: how fast 50 concurrent senders get their replies into ONE room, against the
same senders spread over 500 rooms, in the same run (docs/ARCHITECTURE.md, "Hot rooms").

    .venv/bin/python bench/hot_room.py [--sends 5000] [--concurrency 50] [--rooms 500]
        [--ceiling-rows 50000] [--client-processes 2]

A real `convodesk serve` (one worker process, its default pool); POST
/v1.0/conversations/{id}/messages from `--client-processes` httpx load processes
(bench/message_throughput.py's), `--concurrency` requests in flight in all, as the
customer's admin (an agent: its replies are counted, the SLA turn is the agent's).
Each room gets a customer message and one reply before anything is measured, so every
measured reply finds the agent's turn (the path that takes no room lock).

(a) spread: `--sends` replies round-robin over `--rooms` rooms;
(b) hot: `--sends` replies into one room;
(c) ceiling: single-row INSERTs, each its own commit, on the same database.

Prints each rate, hot/spread (the aim: at least 0.8), and CPU per message of the server
and of PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
import httpx  # noqa: E402
from harness import (  # noqa: E402
    Server,
    bind_app_to,
    cli,
    cpu_line,
    drop_database,
    env_for,
    fresh_database,
    summary,
)
from message_throughput import ceiling, client_main, send_load  # noqa: E402


async def make_rooms(url: str, customer_id: str, count: int) -> list[str]:
    """`count` rooms, each opened by a customer message on a loopback SMS account."""
    from app.channels import accounts
    from app.conversations import messages
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.inbound import InboundMessage

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=10, max_size=10)
    try:
        account = await accounts.create_account(
            customer_id,
            type="loopback",
            address="+15550001111",
            name="sms (loopback)",
            settings={"reference_type": "message"},
        )
        sem = asyncio.Semaphore(10)

        async def one(i: int) -> str:
            async with sem:
                got = await messages.receive(
                    account, InboundMessage(peer=f"+1202555{i:04d}", text=f"hello {i}")
                )
                return got.conversation_id

        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        await DB.close_connection_pool()


async def first_replies(server: Server, token: str, rooms: list[str]) -> None:
    """One reply in each room (the agent's turn from then on); not measured."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as c:
        sem = asyncio.Semaphore(20)

        async def one(room: str) -> None:
            async with sem:
                r = await c.post(f"/v1.0/conversations/{room}/messages", json={"text": "hi"})
                assert r.status_code == 201, r.text

        await asyncio.gather(*(one(room) for room in rooms))


def report(label: str, result: dict, sends: int) -> None:
    cpu = result["cpu"]
    print(f"{label}: {result['rate']:,.0f} messages/s ({result['elapsed']:.1f} s)")
    print("    " + summary("send latency", result["latencies"]))
    print(
        f"    CPU per message: server {cpu['server'] / sends * 1000:.2f} ms,"
        f" PostgreSQL {cpu['postgres'] / sends * 1000:.2f} ms"
    )
    print("  " + cpu_line(cpu))
    top = result["activity"].shares()[:3]
    print("    top waits: " + ", ".join(f"{share:.0%} {what}" for what, share in top))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--ceiling-rows", type=int, default=50000)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--patience",
        type=float,
        default=300,
        help="seconds each phase waits for a quiet machine (0: measure at once)",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)  # a load process's job
    args = parser.parse_args()
    if args.client:
        client_main(args.client)
        return
    harness.PATIENCE.update(quiet=args.patience, retries=1)

    url = fresh_database()
    env = env_for(url)
    restore = bind_app_to(url)  # app modules bind their engine at import
    try:
        cli(env, "migrate")
        customer_id = json.loads(
            cli(
                env,
                *("customer", "create", "--name", "Bench", "--username", "bench-admin"),
                *("--password", "bench-password"),
            )
        )["customer_id"]
        rooms = asyncio.run(make_rooms(url, customer_id, args.rooms + 1))
        hot, spread = rooms[:1], rooms[1:]
        server = Server(env)
        try:
            login = {"username": "bench-admin", "password": "bench-password"}
            token = httpx.post(server.url + "/auth/login", json=login).json()["token"]
            asyncio.run(first_replies(server, token, rooms))
            print(
                f"2 cores; one `convodesk serve`; {args.concurrency} senders in flight from "
                f"{args.client_processes} load processes; {args.sends} replies per phase"
            )

            def phase(targets: list[str]) -> dict:
                return asyncio.run(
                    send_load(
                        server,
                        url,
                        token,
                        targets,
                        args.sends,
                        args.concurrency,
                        args.client_processes,
                    )
                )

            a = harness.undisturbed(lambda: phase(spread), label="spread")
            report(f"(a) spread over {len(spread)} rooms", a, args.sends)
            b = harness.undisturbed(lambda: phase(hot), label="hot")
            report("(b) hot: one room", b, args.sends)
            print(f"hot/spread: {b['rate'] / a['rate']:.2f} (aim: at least 0.80)")
        finally:
            server.stop()
        c = asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency))
        print(
            f"(c) ceiling: {c['rate']:,.0f} single-row INSERTs/s, each its own commit"
            f" ({args.concurrency} connections)"
        )
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
