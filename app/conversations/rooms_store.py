"""Snooze and merge as stored: the statements of `conversations.snooze` and
`conversations.merge`, returning the `RoomRow`s of conversations.store.

Plain SQL: the wake on an inbound message runs on the inbound path (one indexed `UPDATE`
when the room is snoozed, nothing otherwise), the worker's claim needs `SKIP LOCKED`,
and a merge moves rows between rooms with `UPDATE … FROM` statements the builder cannot
say.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.conversations.store import RoomRow
from app.db import sql

Id = uuid.UUID | str

_ROOM_COLUMNS = ", ".join(RoomRow.__struct_fields__)


def _room(record: Any) -> RoomRow:
    return RoomRow(**{f: record[f] for f in RoomRow.__struct_fields__})


# --- snooze -------------------------------------------------------------------------------


async def snooze(room_id: Id, until: datetime | None, until_reply: bool, at: datetime) -> RoomRow:
    """Snooze the (locked) room; a snooze that was already on keeps its start."""
    record = await sql.fetchrow(
        "UPDATE conversations SET tm_snoozed = coalesce(tm_snoozed, $4), snoozed_until = $2,"
        f" snooze_until_reply = $3, tm_update = $4 WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        until,
        until_reply,
        at,
    )
    return _room(record)


async def wake(room_id: Id, at: datetime) -> RoomRow | None:
    """End the room's snooze; None when it was not snoozed (another worker, or a message,
    woke it first: the `WHERE` makes a wake happen once). Waking is activity: the room
    goes to the top of the inbox."""
    record = await sql.fetchrow(
        "UPDATE conversations SET tm_snoozed = NULL, snoozed_until = NULL,"
        " snooze_until_reply = false, tm_activity = greatest(tm_activity, $2), tm_update = $2"
        f" WHERE id = $1 AND tm_snoozed IS NOT NULL RETURNING {_ROOM_COLUMNS}",
        room_id,
        at,
    )
    return _room(record) if record is not None else None


async def clear_snooze(room_id: Id, at: datetime) -> None:
    """Forget a snooze without waking (the room closed): no line, no activity."""
    await sql.execute(
        "UPDATE conversations SET tm_snoozed = NULL, snoozed_until = NULL,"
        " snooze_until_reply = false WHERE id = $1 AND tm_snoozed IS NOT NULL",
        room_id,
    )


async def lock_due(at: datetime, limit: int) -> list[RoomRow]:
    """Live rooms whose snooze time has come, soonest first, locked. SKIP LOCKED: several
    workers share the job, and a room a message is waking right now is left to it (the
    wake's `WHERE` would find it awake anyway). Index conversations_snooze_due."""
    records = await sql.fetch(
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE snoozed_until IS NOT NULL"
        " AND tm_delete IS NULL AND snoozed_until <= $1 ORDER BY snoozed_until LIMIT $2"
        " FOR NO KEY UPDATE SKIP LOCKED",
        at,
        limit,
    )
    return [_room(r) for r in records]


async def unread_again(room_id: Id) -> None:
    """Every agent's read mark of the room goes back to just before its last inbound
    message, so a woken room comes back unread (a room without inbound messages has
    nothing to show as unread)."""
    await sql.execute(
        "UPDATE conversation_reads r SET tm_read = m.last - interval '1 microsecond'"
        " FROM (SELECT max(tm_create) AS last FROM messages WHERE conversation_id = $1"
        "       AND direction = 'inbound') m"
        " WHERE r.conversation_id = $1 AND m.last IS NOT NULL AND r.tm_read >= m.last",
        room_id,
    )


# --- merge --------------------------------------------------------------------------------


async def lock_pair(customer_id: str, first: Id, second: Id) -> dict[str, RoomRow]:
    """Both live rooms of the customer, locked in id order (two merges of the same pair in
    opposite directions must not deadlock); by id, missing ones left out."""
    records = await sql.fetch(
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE customer_id = $1"
        " AND id = ANY($2::uuid[]) AND tm_delete IS NULL ORDER BY id FOR NO KEY UPDATE",
        customer_id,
        [str(first), str(second)],
    )
    return {str(r["id"]): _room(r) for r in records}


async def count_messages(room_id: Id) -> int:
    return await sql.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", room_id)


async def move_timeline(source: Id, target: Id) -> tuple[int, int]:
    """Move B's participants, messages and timeline lines into A. A participant B shares
    with A (same type and address) stays behind, removed, and B's messages with it now
    point at A's; the others move. Returns (messages moved, participants moved)."""
    # B's messages from or to a shared address point at A's participant
    await sql.execute(
        "UPDATE messages m SET participant_id = a.id"
        " FROM participants b JOIN participants a ON a.conversation_id = $2"
        "   AND a.type = b.type AND a.target = b.target AND a.tm_delete IS NULL"
        " WHERE m.conversation_id = $1 AND m.participant_id = b.id"
        "   AND b.conversation_id = $1 AND b.tm_delete IS NULL",
        source,
        target,
    )
    await sql.execute(
        "UPDATE participants b SET tm_delete = now(), tm_update = now()"
        " WHERE b.conversation_id = $1 AND b.tm_delete IS NULL AND EXISTS (SELECT 1"
        "   FROM participants a WHERE a.conversation_id = $2 AND a.tm_delete IS NULL"
        "   AND a.type = b.type AND a.target = b.target)",
        source,
        target,
    )
    moved_people = await sql.execute(
        "UPDATE participants SET conversation_id = $2, tm_update = now()"
        " WHERE conversation_id = $1 AND tm_delete IS NULL",
        source,
        target,
    )
    moved = await sql.execute(
        "UPDATE messages SET conversation_id = $2 WHERE conversation_id = $1", source, target
    )
    await sql.execute(
        "UPDATE conversation_activities SET conversation_id = $2 WHERE conversation_id = $1",
        source,
        target,
    )
    return int(moved.split()[-1]), int(moved_people.split()[-1])


async def absorb(target: RoomRow, source: RoomRow, at: datetime) -> RoomRow:
    """A after B's timeline moved in: tags combined (A's first), the latest message's
    preview and activity time of the two."""
    tags = list(dict.fromkeys([*(target.tags or []), *(source.tags or [])]))
    newer = source.tm_last_message is not None and (
        target.tm_last_message is None or source.tm_last_message > target.tm_last_message
    )
    record = await sql.fetchrow(
        "UPDATE conversations SET tags = $2::text[],"
        " last_message = CASE WHEN $3 THEN $4 ELSE last_message END,"
        " tm_last_message = CASE WHEN $3 THEN $5 ELSE tm_last_message END,"
        " tm_activity = greatest(tm_activity, $6), tm_update = $7"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        target.id,
        tags,
        newer,
        source.last_message,
        source.tm_last_message,
        source.tm_activity,
        at,
    )
    return _room(record)


async def close_merged(source: Id, target: Id, at: datetime) -> RoomRow:
    """B closed, pointing at A, out of every queue, timer and snooze; its preview says
    where it went."""
    record = await sql.fetchrow(
        "UPDATE conversations SET status = 'closed', merged_into = $2, tm_queued = NULL,"
        " tm_awaiting_reply = NULL, tm_snoozed = NULL, snoozed_until = NULL,"
        " snooze_until_reply = false, tm_update = $3"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        source,
        target,
        at,
    )
    return _room(record)


async def merge_candidates(
    customer_id: str, room_id: Id, viewer: str | None, q: str | None, limit: int
) -> list[tuple[RoomRow, bool]]:
    """Rooms `room_id` could be merged into (live, not merged away, not itself; that
    `viewer` may see, when given): first those sharing a participant's address with it
    (participants_address), then the latest active (`q` narrows both by name or address).
    Each with whether it shares a participant."""
    like = None
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = (
        " c.customer_id = $1 AND c.id <> $2 AND c.tm_delete IS NULL AND c.merged_into IS NULL"
        " AND ($3::uuid IS NULL OR c.owner_id IS NULL OR c.owner_id = $3::uuid)"
        " AND ($4::text IS NULL OR c.name ILIKE $4 OR c.reference_id ILIKE $4"
        "   OR EXISTS (SELECT 1 FROM participants s WHERE s.conversation_id = c.id"
        "     AND s.tm_delete IS NULL AND (s.target ILIKE $4 OR s.target_name ILIKE $4)))"
    )
    columns = ", ".join("c." + f for f in RoomRow.__struct_fields__)
    shared = await sql.fetch(
        f"SELECT {columns} FROM conversations c WHERE c.id IN (SELECT p.conversation_id"
        "   FROM participants o JOIN participants p ON p.customer_id = o.customer_id"
        "   AND p.type = o.type AND p.target = o.target AND p.tm_delete IS NULL"
        "   WHERE o.conversation_id = $2 AND o.tm_delete IS NULL AND o.target_name <> 'me')"
        f" AND {where} ORDER BY c.tm_activity DESC LIMIT $5",
        customer_id,
        room_id,
        viewer,
        like,
        limit,
    )
    found = [(_room(r), True) for r in shared]
    seen = {str(r.id) for r, _ in found}
    if len(found) < limit:
        latest = await sql.fetch(
            f"SELECT {columns} FROM conversations c WHERE {where}"
            " ORDER BY c.tm_activity DESC LIMIT $5",
            customer_id,
            room_id,
            viewer,
            like,
            limit,
        )
        found += [(_room(r), False) for r in latest if str(r["id"]) not in seen]
    return found[:limit]
