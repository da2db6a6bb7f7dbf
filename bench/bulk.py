"""Bulk actions on 500 rooms (`POST /v1.0/conversations/bulk`: ≤ 2 s with every
event emitted).

    .venv/bin/python bench/bulk.py [--rooms 500] [--rounds 5] [--single 100] [--quiet 60]

On a fresh database, the service (`conversations.bulk.bulk`, what the API door calls) in
this process on a pool. Each round seeds `--rooms` new open rooms (one SMS participant
each), then runs every action on all of them in turn — assign, set_priority, add_tags,
remove_tags, move_team, snooze, mark_read, close — timing each call and counting the
events it committed (one per changed room; `mark_read` changes no room and records none).
The floor: the same change made room by room through the single service call
(`update_conversation`, priority), `--single` rooms one after another, the median × 500:
what 500 single actions would cost in a row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
import msgspec  # noqa: E402
from harness import customer_database, percentile, wait_for_quiet  # noqa: E402

ACTIONS = [
    ("assign", {"owner_id": "AGENT"}),
    ("set_priority", {"priority": "high"}),
    ("add_tags", {"tags": ["bulk", "vip"]}),
    ("remove_tags", {"tags": ["vip"]}),
    ("move_team", {"team_id": "TEAM"}),
    ("snooze", {"until_reply": True}),
    ("mark_read", {}),
    ("close", {}),
]


async def seed_rooms(customer_id: str, n: int, label: str) -> list[str]:
    from app.db import sql

    rows = await sql.fetch(
        "WITH c AS (INSERT INTO conversations (id, customer_id, name, detail, status,"
        " reference_type, reference_id, owner_type, tags, priority, assignment_reason,"
        " tm_activity, tm_create, tm_update)"
        " SELECT gen_random_uuid(), $1, 'Bench ' || $3 || i, '', 'active', 'message',"
        " '+1555' || lpad(i::text, 7, '0'), '', ARRAY[]::text[], 'none', '',"
        " clock_timestamp(), clock_timestamp(), clock_timestamp()"
        " FROM generate_series(1, $2) AS i RETURNING id, reference_id)"
        " INSERT INTO participants (id, customer_id, conversation_id, type, target, target_name,"
        " name, detail, tm_create, tm_update)"
        " SELECT gen_random_uuid(), $1, c.id, 'tel', c.reference_id, 'Unknown', '', '', now(),"
        " now() FROM c RETURNING conversation_id",
        customer_id,
        n,
        label,
    )
    return [str(r["conversation_id"]) for r in rows]


async def events_since(customer_id: str, after: int) -> int:
    from app.db import sql

    return await sql.fetchval(
        "SELECT count(*) FROM events WHERE customer_id = $1 AND id > $2 AND type NOT IN"
        " ('conversation_activity_created')",
        customer_id,
        after,
    )


async def main_async(args, url: str, created: dict) -> None:
    from app.conversations import bulk
    from app.conversations import service as conversations
    from app.core.events import last_event_id
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.enums import Permission, Priority
    from app.domain.principal import Principal
    from app.domain.resources import BulkIn, ConversationUpdate, TeamCreate
    from app.routing import teams

    customer_id = created["customer_id"]
    admin = Principal(
        customer_id=customer_id,
        agent_id=created["agent_id"],
        username="bench-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=4, max_size=4)
    try:
        team = await teams.create_team(admin, TeamCreate(name="Bench team"))
        timings: dict[str, list[float]] = {name: [] for name, _ in ACTIONS}
        counted: dict[str, list[int]] = {name: [] for name, _ in ACTIONS}
        for round_no in range(args.rounds):
            rooms = await seed_rooms(customer_id, args.rooms, f"r{round_no}-")
            wait_for_quiet(limit=QUIET)
            for name, fields in ACTIONS:
                body = {
                    k: (created["agent_id"] if v == "AGENT" else team.id if v == "TEAM" else v)
                    for k, v in fields.items()
                }
                data = msgspec.convert({"conversation_ids": rooms, "action": name, **body}, BulkIn)
                before = await last_event_id(customer_id)
                start = time.perf_counter()
                out = await bulk.bulk(admin, data)
                timings[name].append((time.perf_counter() - start) * 1000)
                assert all(r.ok for r in out.result), [r for r in out.result if not r.ok][:3]
                counted[name].append(await events_since(customer_id, before))
        print(f"bulk actions on {args.rooms} rooms, {args.rounds} rounds (service, in process):")
        for name, _ in ACTIONS:
            t = timings[name]
            print(
                f"  {name:<13} median={statistics.median(t):7.1f} ms  p95={percentile(t, 95):7.1f}"
                f" ms  max={max(t):7.1f} ms  events per call={sorted(set(counted[name]))}"
            )
        # the floor: the single action room by room
        rooms = await seed_rooms(customer_id, args.single, "single-")
        wait_for_quiet(limit=QUIET)
        single: list[float] = []
        for room_id in rooms:
            start = time.perf_counter()
            await conversations.update_conversation(
                admin, room_id, ConversationUpdate(priority=Priority.URGENT)
            )
            single.append((time.perf_counter() - start) * 1000)
        per_room = statistics.median(single)
        print(
            f"floor: one set_priority through update_conversation, {args.single} rooms in a row:"
            f" median={per_room:.2f} ms p95={percentile(single, 95):.2f} ms;"
            f" × {args.rooms} = {per_room * args.rooms:.0f} ms"
        )
    finally:
        await DB.close_connection_pool()


QUIET = 60.0


def main() -> None:
    global QUIET
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--single", type=int, default=100)
    parser.add_argument("--quiet", type=float, default=60)
    args = parser.parse_args()
    QUIET = args.quiet
    harness.PATIENCE["quiet"] = QUIET
    with customer_database() as (url, _env, created):
        asyncio.run(main_async(args, url, created))


if __name__ == "__main__":
    main()
