"""The query builder against plain asyncpg for the same reads of rooms, messages, channel
accounts and events: which of them are worth writing as plain SQL.

    .venv/bin/python bench/data_access_rooms.py [--iterations 2000] [--rooms 200]

Setup: a fresh database; one customer; one loopback SMS account and one web chat account;
`--rooms` rooms opened by `messages.receive()` (three messages each), a web chat visitor
with 20 messages, and the events all that recorded. Then each query is run `--iterations`
times in each form on one pooled connection, the two forms alternating call by call (so
another process's load falls on both alike). Both forms send the same statement and get
the same rows; only how the statement is built and its rows handed back differs.

Printed per query: the median time of one call in each form, the client CPU per call
(this process, `time.process_time`), and builder / plain. The PostgreSQL side is the
same statement either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

sys.path.insert(0, os.path.dirname(__file__))

from harness import bind_app_to, cli, drop_database, env_for, fresh_database  # noqa: E402

Call = Callable[[], Awaitable[object]]


async def measure(builder: Call, plain: Call, iterations: int) -> dict[str, float]:
    for _ in range(50):  # warm up: prepared statements, the pool, caches
        await builder()
        await plain()
    times: dict[str, list[float]] = {"builder": [], "plain": []}
    cpu = {"builder": 0.0, "plain": 0.0}
    for _ in range(iterations):
        for name, call in (("builder", builder), ("plain", plain)):
            c, t = time.process_time(), time.perf_counter()
            await call()
            times[name].append(time.perf_counter() - t)
            cpu[name] += time.process_time() - c
    return {
        "builder_ms": statistics.median(times["builder"]) * 1000,
        "plain_ms": statistics.median(times["plain"]) * 1000,
        "builder_cpu_us": cpu["builder"] / iterations * 1e6,
        "plain_cpu_us": cpu["plain"] / iterations * 1e6,
    }


async def run(url: str, customer_id: str, rooms: int, iterations: int) -> None:
    from piccolo.query.functions.aggregate import Max

    from app.channels import accounts
    from app.conversations import messages
    from app.db import sql
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.db.tables import ChannelAccount, Conversation, Event, Message, Participant
    from app.domain.inbound import InboundMessage

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=1, max_size=1)
    try:
        sms = await accounts.create_account(
            customer_id,
            type="loopback",
            address="+15550001111",
            settings={"reference_type": "message"},
        )
        chat = await accounts.create_account(customer_id, type="webchat", address="")
        room_ids = []
        for i in range(rooms):
            for n in range(3):
                got = await messages.receive(
                    sms, InboundMessage(peer=f"+1202555{i:04d}", text=f"message {n} of {i}")
                )
            room_ids.append(got.conversation_id)
        visitor = "wv-" + "0" * 32
        for n in range(20):
            got = await messages.receive(
                chat,
                InboundMessage(peer=visitor, text=f"visitor {n}", provider_message_id=f"v{n}"),
            )
        visitor_room = got.conversation_id
        last = await sql.fetchval("SELECT max(id) FROM events")
        room, page = room_ids[rooms // 2], room_ids[:50]
        account_id = str(sms.id)
        print(
            f"{rooms} rooms, {rooms * 3 + 20} messages, {last} events; "
            f"{iterations} calls of each form, alternating",
            flush=True,
        )

        event_columns = (
            Event.id,
            Event.customer_id,
            Event.type,
            Event.topics,
            Event.audience,
            Event.tm_create,
            Event.payload,
        )
        cases: dict[str, tuple[str, Call, Call]] = {
            "events after a cursor (10 events)": (
                "per event, per process (the hub)",
                lambda: (
                    Event.select(*event_columns)
                    .where(Event.customer_id == customer_id, Event.id > last - 10)
                    .order_by(Event.id)
                    .limit(500)
                ),
                lambda: sql.fetch(
                    "SELECT id, customer_id, type, topics, audience, tm_create, payload"
                    " FROM events WHERE customer_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                    customer_id,
                    last - 10,
                    500,
                ),
            ),
            "last event id": (
                "per desk page, per websocket",
                lambda: Event.select(Max(Event.id)).where(Event.customer_id == customer_id),
                lambda: sql.fetchval(
                    "SELECT coalesce(max(id), 0) FROM events WHERE customer_id = $1", customer_id
                ),
            ),
            "live participants of one room": (
                "per reply (routing), per room event",
                lambda: (
                    Participant.select()
                    .where(Participant.conversation_id == room, Participant.tm_delete.is_null())
                    .order_by(Participant.tm_create)
                ),
                lambda: sql.fetch(
                    "SELECT * FROM participants WHERE conversation_id = ANY($1::uuid[])"
                    " AND tm_delete IS NULL ORDER BY tm_create",
                    [room],
                ),
            ),
            "live participants of 50 rooms": (
                "per list page",
                lambda: (
                    Participant.select()
                    .where(Participant.conversation_id.is_in(page), Participant.tm_delete.is_null())
                    .order_by(Participant.tm_create)
                ),
                lambda: sql.fetch(
                    "SELECT * FROM participants WHERE conversation_id = ANY($1::uuid[])"
                    " AND tm_delete IS NULL ORDER BY tm_create",
                    page,
                ),
            ),
            "a room the caller may see": (
                "per request on a room, per reply",
                lambda: (
                    Conversation.select()
                    .where(
                        Conversation.id == room,
                        Conversation.customer_id == customer_id,
                        Conversation.tm_delete.is_null(),
                    )
                    .first()
                ),
                lambda: sql.fetchrow(
                    "SELECT * FROM conversations WHERE id = $1 AND customer_id = $2"
                    " AND tm_delete IS NULL",
                    room,
                    customer_id,
                ),
            ),
            "a channel account by id": (
                "per send, per hook call",
                lambda: (
                    ChannelAccount.select()
                    .where(
                        ChannelAccount.id == account_id,
                        ChannelAccount.customer_id == customer_id,
                        ChannelAccount.tm_delete.is_null(),
                    )
                    .first()
                ),
                lambda: sql.fetchrow(
                    "SELECT * FROM channel_accounts WHERE id = $1 AND customer_id = $2"
                    " AND tm_delete IS NULL",
                    account_id,
                    customer_id,
                ),
            ),
            "a web chat visitor's history (20 messages)": (
                "per widget load",
                lambda: (
                    Message.select()
                    .where(
                        Message.conversation_id.is_in([visitor_room]),
                        Message.reference_type == "webchat",
                        Message.reference_id == visitor,
                        Message.tm_delete.is_null(),
                    )
                    .order_by(Message.tm_create, ascending=False)
                    .order_by(Message.id, ascending=False)
                    .limit(200)
                ),
                lambda: sql.fetch(
                    "SELECT * FROM messages WHERE conversation_id = ANY($1::uuid[])"
                    " AND reference_type = $2 AND reference_id = $3 AND tm_delete IS NULL"
                    " ORDER BY tm_create DESC, id DESC LIMIT $4",
                    [visitor_room],
                    "webchat",
                    visitor,
                    200,
                ),
            ),
        }
        print(
            f"{'query':<44} {'how often':<36} {'builder':>9} {'plain':>9} {'ratio':>6}"
            f" {'CPU builder':>12} {'CPU plain':>10} {'ratio':>6}"
        )
        for label, (often, builder, plain) in cases.items():
            got = await measure(builder, plain, iterations)
            print(
                f"{label:<44} {often:<36} {got['builder_ms']:7.3f}ms {got['plain_ms']:7.3f}ms"
                f" {got['builder_ms'] / got['plain_ms']:5.2f}x"
                f" {got['builder_cpu_us']:9.0f} µs {got['plain_cpu_us']:7.0f} µs"
                f" {got['builder_cpu_us'] / got['plain_cpu_us']:5.2f}x",
                flush=True,
            )
    finally:
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rooms", type=int, default=200)
    args = parser.parse_args()
    url = fresh_database()
    env = env_for(url)
    restore = bind_app_to(url)  # app modules bind their engine at import
    try:
        cli(env, "migrate")
        created = cli(
            env,
            *("customer", "create", "--name", "Bench", "--username", "bench-admin"),
            *("--password", "bench-password"),
        )
        customer_id = json.loads(created)["customer_id"]
        asyncio.run(run(url, customer_id, args.rooms, args.iterations))
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()
