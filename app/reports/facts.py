"""The facts the reports read, and where they are written (docs/ARCHITECTURE.md, "Reports").

A room's facts are columns of its own row (`tm_first_inbound`, `tm_first_reply`,
`first_reply_agent_id`, `tm_closed`), so the team, assignee, channel and status the
reports filter on are the room's own and never go stale. Message counts are
`report_slots`: per room, quarter hour and agent. Both are written by the statements that
record the change: `conversations.store.record_message` (one statement per message, the
slot upsert in a CTE), `update_room` and `set_status` (the close time). A merge moves
messages between rooms, so it recounts the room that received them (`merged`).

This module imports nothing of `conversations`: the conversation store and the merge call
it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core.events import transaction
from app.db import sql

NOBODY = "00000000-0000-0000-0000-000000000000"
"""The agent id of a slot's customer messages (slots are keyed by agent)."""

SLOT = timedelta(minutes=15)
"""A slot's length. Every time zone is a whole number of quarter hours off UTC, so local
hours and local days are whole numbers of slots everywhere."""


def slot_of(at: datetime) -> datetime:
    """The start of the quarter hour `at` falls in."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


SLOT_SQL = "to_timestamp(floor(extract(epoch FROM {col}) / 900) * 900)"
"""SQL: the start of the quarter hour a time column falls in (`slot_of`)."""

FIRST_INBOUND_SQL = (
    "SELECT min(i.tm_create) FROM messages i WHERE i.conversation_id = {room}"
    " AND i.direction = 'inbound'"
)
"""SQL: a room's first customer message, from its messages."""

FIRST_REPLY_SQL = (
    "SELECT r.tm_create, r.agent_id FROM messages r WHERE r.conversation_id = {room}"
    " AND r.direction = 'outbound' AND r.agent_id IS NOT NULL"
    " AND r.status NOT IN ('scheduled', 'canceled') AND r.tm_create >= {first_inbound}"
    " ORDER BY r.tm_create, r.id LIMIT 1"
)
"""SQL: a room's first response, from its messages: the first agent reply that went out
(a scheduled reply counts when it is sent, a canceled one never) at or after the first
customer message. An integration's message (an access key's: no agent) answers for no
one."""


async def merged(target_id: object, source_id: object) -> None:
    """After a merge moved the source room's messages into the target: the target's first
    message and first response are recounted from the messages it now holds, and the
    source's slots and its shares of the customer's counts (app/reports/volume.py) become
    the target's. The source, merged away, leaves the reports.
    Runs in the merge's transaction, which holds both rooms."""
    first_inbound = FIRST_INBOUND_SQL.format(room="$1")
    first_reply = FIRST_REPLY_SQL.format(room="$1", first_inbound="f.first_inbound")
    await sql.execute(
        f"WITH f AS (SELECT ({first_inbound}) AS first_inbound)"
        " UPDATE conversations SET tm_first_inbound = f.first_inbound,"
        " tm_first_reply = r.tm_create, first_reply_agent_id = r.agent_id"
        f" FROM f LEFT JOIN LATERAL ({first_reply}) r ON true WHERE conversations.id = $1",
        target_id,
    )
    await sql.execute(
        "WITH moved AS (DELETE FROM report_slots WHERE conversation_id = $2"
        " RETURNING slot, agent_id, inbound, replies)"
        " INSERT INTO report_slots (customer_id, conversation_id, slot, agent_id, inbound, replies)"
        " SELECT c.customer_id, c.id, m.slot, m.agent_id, m.inbound, m.replies"
        " FROM moved m, conversations c WHERE c.id = $1"
        " ON CONFLICT (conversation_id, slot, agent_id) DO UPDATE"
        " SET inbound = report_slots.inbound + excluded.inbound,"
        " replies = report_slots.replies + excluded.replies",
        target_id,
        source_id,
    )
    # the source's shares of the customer's counts go with its messages, under what they
    # were counted (app/reports/volume.py): a deletion of the target takes them back
    await sql.execute(
        "WITH moved AS (DELETE FROM report_room_counts WHERE conversation_id = $2"
        " RETURNING customer_id, slot, agent_id, team_id, owner_id, channel, inbound, replies)"
        " INSERT INTO report_room_counts (customer_id, conversation_id, slot, agent_id,"
        " team_id, owner_id, channel, inbound, replies)"
        " SELECT customer_id, $1, slot, agent_id, team_id, owner_id, channel, inbound, replies"
        " FROM moved ON CONFLICT (conversation_id, slot, agent_id, team_id, owner_id, channel)"
        " DO UPDATE SET inbound = report_room_counts.inbound + excluded.inbound,"
        " replies = report_room_counts.replies + excluded.replies",
        target_id,
        source_id,
    )
    await sql.execute(
        "UPDATE conversations SET tm_first_inbound = NULL, tm_first_reply = NULL,"
        " first_reply_agent_id = NULL WHERE id = $1",
        source_id,
    )


CLOSES_SQL = (
    "SELECT DISTINCT ON (e.payload->>'id') (e.payload->>'id')::uuid AS room,"
    " ((e.payload->>'tm_update') || '+00')::timestamptz AS closed"
    " FROM events e WHERE e.customer_id = {customer} AND e.type = 'conversation_closed'"
    " ORDER BY e.payload->>'id', e.id DESC"
)
"""SQL: when each room of a customer was last closed, from its `conversation_closed`
events (the room as it was written then: its `tm_update` is the close time)."""


def room_facts_sql(rooms: str, customer: str) -> str:
    """SQL: `rooms` (a query of conversations aliased `c`) with each room's facts counted
    from its messages and events: `first_inbound`, `first_reply`, `first_replier`,
    `closed` (while closed; a room merged away has none)."""
    return (
        f"WITH closes AS ({CLOSES_SQL.format(customer=customer)})"
        " SELECT c.*, fi.first_inbound, fr.tm_create AS first_reply,"
        " fr.agent_id AS first_replier,"
        " CASE WHEN c.status = 'closed' AND c.merged_into IS NULL THEN cl.closed END AS closed"
        f" FROM ({rooms}) c"
        f" LEFT JOIN LATERAL ({FIRST_INBOUND_SQL.format(room='c.id')}) fi(first_inbound) ON true"
        " LEFT JOIN LATERAL"
        f" ({FIRST_REPLY_SQL.format(room='c.id', first_inbound='fi.first_inbound')}) fr ON true"
        " LEFT JOIN closes cl ON cl.room = c.id"
    )


MESSAGES_COUNTED = (
    "(m.direction = 'inbound' OR (m.direction = 'outbound' AND m.agent_id IS NOT NULL"
    " AND m.status NOT IN ('scheduled', 'canceled')))"
)
"""SQL: a message `m` the slots count: every customer message, and every agent reply that
went out."""


async def rebuild(customer_id: str) -> None:
    """Every room's facts and slots of the customer counted again from its messages and
    events (`volume.recount_all` does this and the customer's counts). A closed room whose
    close event is gone (event retention) keeps the close time it has."""
    async with transaction():
        rooms = "SELECT * FROM conversations WHERE customer_id = $1"
        await sql.execute(
            "UPDATE conversations u SET tm_first_inbound = f.first_inbound,"
            " tm_first_reply = f.first_reply, first_reply_agent_id = f.first_replier,"
            " tm_closed = CASE WHEN u.status = 'closed'"
            "   THEN coalesce(f.closed, u.tm_closed, u.tm_update) END"
            f" FROM ({room_facts_sql(rooms, '$1')}) f WHERE u.id = f.id",
            customer_id,
        )
        await sql.execute("DELETE FROM report_slots WHERE customer_id = $1", customer_id)
        await sql.execute(
            "INSERT INTO report_slots"
            " (customer_id, conversation_id, slot, agent_id, inbound, replies)"
            f" SELECT m.customer_id, m.conversation_id, {SLOT_SQL.format(col='m.tm_create')},"
            f" coalesce(CASE WHEN m.direction = 'outbound' THEN m.agent_id END, '{NOBODY}'),"
            " count(*) FILTER (WHERE m.direction = 'inbound'),"
            " count(*) FILTER (WHERE m.direction = 'outbound')"
            f" FROM messages m WHERE m.customer_id = $1 AND {MESSAGES_COUNTED}"
            " GROUP BY 1, 2, 3, 4",
            customer_id,
        )
