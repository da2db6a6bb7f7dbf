"""Piccolo's query builder against plain SQL on asyncpg, for the same statements.

Data access uses the query builder unless a figure says a path is worth plain SQL
(docs/ARCHITECTURE.md, "Raw SQL, and why"). This puts the two side by side for each
statement kept in plain SQL on a hot path: the app's own function (each feature's store.py,
plain SQL through app/db/sql.py) against the builder query that would replace it, both
returning the same typed rows.

    .venv/bin/python bench/data_access.py [--calls 500] [--rounds 6] [--patience 60]

Setup: a fresh database; one customer, 20 agents, a group talk of all of them with 200
messages (one thread of 10 replies, reactions on the first 20) and an access key, made
through the services. One asyncio task in this process runs the calls one after another on
a pool of 2 connections: reads outside a transaction (as a live event's fan-out does),
writes inside one that is rolled back after each batch (as a request's transaction, without
the data growing). Each round runs every case's `--calls` calls with the builder, then with
plain SQL (the order flips every round, to cancel drift); figures are medians over all
calls of a variant. "CPU" is this process's CPU time per call: the client-side cost the
builder adds (PostgreSQL's own work is the same for the same statement).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(__file__))
# this checkout's app, also when another one is installed in the environment
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import customer_database, make_agents, wait_for_quiet  # noqa: E402

Call = Callable[[], Awaitable[object]]


class _Rollback(Exception):
    """Ends a batch of writes: its transaction is rolled back."""


@dataclass
class Case:
    name: str
    path: str
    """Where the app runs the statement, and how often."""
    raw: Call
    builder: Call
    writes: bool = False
    times: dict[str, list[float]] = field(default_factory=lambda: {"raw": [], "builder": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"raw": [], "builder": []})


async def batch(case: Case, variant: str, calls: int) -> None:
    from app.db.piccolo_conf import DB

    call = case.raw if variant == "raw" else case.builder
    times = case.times[variant]

    async def run() -> None:
        for _ in range(calls):
            t = time.perf_counter()
            await call()
            times.append(time.perf_counter() - t)

    started = time.process_time()
    if case.writes:
        try:
            async with DB.transaction():
                await run()
                raise _Rollback
        except _Rollback:
            pass
    else:
        await run()
    case.cpu[variant].append((time.process_time() - started) / calls)


async def setup(customer_id: str, admin_id: str, url: str) -> dict:
    from app.domain.enums import Permission, TalkType
    from app.domain.principal import Principal
    from app.domain.resources import AccessKeyCreate, TalkCreate, TalkMessageCreate
    from app.people import accesskeys
    from app.talk import messages as talk_messages
    from app.talk import service as talks

    agents = await make_agents(url, customer_id, 20)
    admin = Principal(
        customer_id=customer_id,
        agent_id=admin_id,
        username="bench-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    talk, _ = await talks.create_talk(
        admin,
        TalkCreate(type=TalkType.GROUP, name="Bench", participant_ids=[a["id"] for a in agents]),
    )
    posted = []
    for i in range(200):
        posted.append(
            await talk_messages.post_message(admin, talk.id, TalkMessageCreate(text=f"m {i}"))
        )
    root = posted[-1]
    for i in range(10):
        await talk_messages.post_message(
            admin, talk.id, TalkMessageCreate(text=f"reply {i}", parent_id=root.id)
        )
    for m in posted[:20]:
        await talk_messages.add_reaction(admin, m.id, "thumbsup")
        await talk_messages.add_reaction(admin, m.id, "tada")
    key = await accesskeys.create_accesskey(admin, AccessKeyCreate(name="bench"))
    return {
        "admin": admin,
        "agents": [a["id"] for a in agents],
        "talk_id": talk.id,
        "root_id": root.id,
        "message_ids": [m.id for m in posted[:50]],
        "key": key.token,
    }


def cases(customer_id: str, admin_id: str, data: dict) -> list[Case]:
    from app.db.tables import AccessKey, Agent, Talk, TalkMessage, TalkParticipant, TalkReaction
    from app.db.typed import as_row
    from app.domain.enums import TalkMessageType
    from app.domain.timefmt import now
    from app.people import accesskey_store, agent_store
    from app.people.accesskeys import hash_key
    from app.people.agent_store import Colleague, SignedIn
    from app.talk import store as talk_store
    from app.talk.store import MessageRow, ParticipantRow, ReactionRow, TalkRow

    talk_id, root_id, agents = data["talk_id"], data["root_id"], data["agents"]
    five, fifty = agents[:5], data["message_ids"]
    token_hash = hash_key(data["key"])

    async def talk_builder() -> TalkRow | None:
        row = (
            await Talk.select()
            .where(Talk.id == talk_id, Talk.customer_id == customer_id, Talk.tm_delete.is_null())
            .first()
        )
        return None if row is None else as_row(TalkRow, row)

    async def participants_builder() -> dict[str, list[ParticipantRow]]:
        rows = (
            await TalkParticipant.select()
            .where(TalkParticipant.talk_id.is_in([talk_id]))
            .order_by(TalkParticipant.tm_joined, TalkParticipant.id)
        )
        found: dict[str, list[ParticipantRow]] = {talk_id: []}
        for r in rows:
            found[str(r["talk_id"])].append(as_row(ParticipantRow, r))
        return found

    async def message_builder() -> MessageRow | None:
        row = (
            await TalkMessage.select()
            .where(TalkMessage.id == root_id, TalkMessage.talk_id == talk_id)
            .first()
        )
        return None if row is None else as_row(MessageRow, row)

    async def insert_builder() -> MessageRow:
        rows = await TalkMessage.insert(
            TalkMessage(
                customer_id=customer_id,
                talk_id=talk_id,
                agent_id=admin_id,
                type=TalkMessageType.NORMAL.value,
                text="a message",
                parent_id=None,
                medias="[]",
                tm_create=now(),
            )
        ).returning(*TalkMessage.all_columns())
        return as_row(MessageRow, rows[0])

    async def touch_builder() -> None:
        await Talk.update({Talk.tm_last_message: now()}).where(Talk.id == talk_id)

    async def read_builder() -> None:
        # greatest(tm_read, at) as a condition: the same rows end the same
        at = now()
        await TalkParticipant.update({TalkParticipant.tm_read: at}).where(
            TalkParticipant.talk_id == talk_id,
            TalkParticipant.agent_id == admin_id,
            TalkParticipant.tm_read < at,
        )

    async def count_reply_builder() -> MessageRow:
        rows = (
            await TalkMessage.update({TalkMessage.reply_count: TalkMessage.reply_count + 1})
            .where(TalkMessage.id == root_id)
            .returning(*TalkMessage.all_columns())
        )
        return as_row(MessageRow, rows[0])

    async def reactions_builder() -> list[ReactionRow]:
        # no ordered array_agg in the builder: the rows, grouped here
        rows = (
            await TalkReaction.select(
                TalkReaction.message_id, TalkReaction.emoji, TalkReaction.agent_id
            )
            .where(TalkReaction.message_id.is_in(fifty))
            .order_by(TalkReaction.id)
        )
        grouped: dict[tuple, list[str]] = {}
        for r in rows:
            grouped.setdefault((r["message_id"], r["emoji"]), []).append(str(r["agent_id"]))
        return [ReactionRow(message_id=m, emoji=e, agents=a) for (m, e), a in grouped.items()]

    async def names_builder() -> dict[str, str]:
        rows = await Agent.select(Agent.id, Agent.name, Agent.username).where(
            Agent.customer_id == customer_id, Agent.id.is_in(five)
        )
        return {str(r["id"]): r["name"] or r["username"] for r in rows}

    async def directory_builder() -> list[Colleague]:
        rows = await (
            Agent.select(Agent.id, Agent.name, Agent.username, Agent.permission)
            .where(Agent.customer_id == customer_id, Agent.tm_delete.is_null())
            .order_by(Agent.name)
        )
        return [
            Colleague(id=str(r["id"]), name=r["name"] or r["username"], permission=r["permission"])
            for r in rows
        ]

    async def signed_in_builder() -> SignedIn | None:
        row = (
            await Agent.select(Agent.id, Agent.customer_id, Agent.username, Agent.permission)
            .where(
                Agent.id == admin_id, Agent.customer_id == customer_id, Agent.tm_delete.is_null()
            )
            .first()
        )
        return None if row is None else as_row(SignedIn, row)

    async def presented_builder() -> accesskey_store.Presented | None:
        row = (
            await AccessKey.select(AccessKey.agent_id, AccessKey.customer_id, AccessKey.tm_expire)
            .where(AccessKey.token_hash == token_hash, AccessKey.tm_delete.is_null())
            .first()
        )
        return None if row is None else as_row(accesskey_store.Presented, row)

    message = "per message"
    fan_out = "per talk event, per process"
    return [
        Case(
            "a talk by id",
            f"{message} (reach); per desk viewing the talk, per event (mark_read)",
            lambda: talk_store.talk(customer_id, talk_id),
            talk_builder,
        ),
        Case(
            "a talk's 21 participants",
            f"{message} (reach); {fan_out} (talk_state)",
            lambda: talk_store.participants_of([talk_id]),
            participants_builder,
        ),
        Case(
            "a message by id",
            "per reply (its parent and root); per reaction",
            lambda: talk_store.message(talk_id, root_id),
            message_builder,
        ),
        Case(
            "INSERT a message RETURNING it",
            message,
            lambda: talk_store.insert_message(
                customer_id,
                talk_id,
                admin_id,
                TalkMessageType.NORMAL,
                "a message",
                None,
                "[]",
                now(),
            ),
            insert_builder,
            writes=True,
        ),
        Case(
            "UPDATE the talk's last-message time",
            message,
            lambda: talk_store.touch(talk_id, now()),
            touch_builder,
            writes=True,
        ),
        Case(
            "UPDATE a participant's read time",
            f"{message}; per desk viewing the talk, per event",
            lambda: talk_store.read_up_to(talk_id, admin_id, now()),
            read_builder,
            writes=True,
        ),
        Case(
            "UPDATE a root's reply count RETURNING it",
            "per reply",
            lambda: talk_store.count_reply(root_id),
            count_reply_builder,
            writes=True,
        ),
        Case(
            "reactions of 50 messages",
            "per reply (the root's event); per page of messages",
            lambda: talk_store.reactions_of(fifty),
            reactions_builder,
        ),
        Case(
            "5 agents' names",
            f"{fan_out} (names_for, talk_state)",
            lambda: agent_store.names(customer_id, five),
            names_builder,
        ),
        Case(
            "the directory (21 agents)",
            "per desk viewing a room or talk, per event",
            lambda: agent_store.directory(customer_id),
            directory_builder,
        ),
        Case(
            "the agent behind a token",
            "per API request and websocket",
            lambda: agent_store.signed_in(admin_id, customer_id),
            signed_in_builder,
        ),
        Case(
            "an access key by its hash",
            "per API request made with an access key",
            lambda: accesskey_store.presented(token_hash),
            presented_builder,
        ),
    ]


POSTING = [
    "a talk by id",
    "a talk's 21 participants",
    "INSERT a message RETURNING it",
    "UPDATE the talk's last-message time",
    "UPDATE a participant's read time",
]
"""The statements of posting a message (talk_messages.post_message) compared here; the
rest of it (the event's INSERT, the transaction) is the same either way."""


async def measure(url: str, customer_id: str, admin_id: str, args) -> tuple[list[Case], list]:
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.resources import TalkMessageCreate
    from app.talk import messages as talk_messages

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=2, max_size=2)
    try:
        data = await setup(customer_id, admin_id, url)
        found = cases(customer_id, admin_id, data)
        for case in found:  # warm up: prepared statements, code paths
            await batch(case, "raw", 50)
            await batch(case, "builder", 50)
            case.times = {"raw": [], "builder": []}
            case.cpu = {"raw": [], "builder": []}
        posts: list[float] = []
        body = TalkMessageCreate(text="a message")
        for round_ in range(args.rounds):
            busy = await asyncio.to_thread(wait_for_quiet, args.patience)
            order = ("builder", "raw") if round_ % 2 == 0 else ("raw", "builder")
            for case in found:
                for variant in order:
                    await batch(case, variant, args.calls)
            for _ in range(args.calls // 5):  # the whole service call, as the app has it
                t = time.perf_counter()
                await talk_messages.post_message(data["admin"], data["talk_id"], body)
                posts.append(time.perf_counter() - t)
            print(f"  round {round_ + 1}: started with {busy:.2f} cores busy", flush=True)
        return found, posts
    finally:
        await DB.close_connection_pool()


def report(found: list[Case], posts: list[float]) -> None:
    print()
    print(
        "| statement | where it runs | builder median | plain SQL median | ratio |"
        " builder CPU | plain SQL CPU | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in found:
        b, r = statistics.median(c.times["builder"]), statistics.median(c.times["raw"])
        bc, rc = statistics.median(c.cpu["builder"]), statistics.median(c.cpu["raw"])
        print(
            f"| {c.name} | {c.path} | {b * 1e6:,.0f} µs | {r * 1e6:,.0f} µs | {b / r:.2f} |"
            f" {bc * 1e6:,.0f} µs | {rc * 1e6:,.0f} µs | {bc / rc:.2f} |"
        )
    posting = [c for c in found if c.name in POSTING]
    more = sum(
        statistics.median(c.times["builder"]) - statistics.median(c.times["raw"]) for c in posting
    )
    cpu = sum(
        statistics.median(c.cpu["builder"]) - statistics.median(c.cpu["raw"]) for c in posting
    )
    print(
        f"\nposting a message (talk_messages.post_message, as the app has it): median"
        f" {statistics.median(posts) * 1e3:.2f} ms over {len(posts)} calls; its"
        f" {len(posting)} statements above would take {more * 1e3:.2f} ms more with the"
        f" builder ({cpu * 1e3:.2f} ms more CPU in this process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per batch")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--patience", type=float, default=60, help="seconds a round waits for a quiet machine"
    )
    args = parser.parse_args()
    with customer_database() as (url, _, created):
        print(
            f"{args.rounds} rounds of {args.calls} calls per case and variant, one task, pool of 2",
            flush=True,
        )
        found, posts = asyncio.run(measure(url, created["customer_id"], created["agent_id"], args))
        report(found, posts)


if __name__ == "__main__":
    main()
