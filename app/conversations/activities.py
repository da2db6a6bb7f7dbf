"""Notes and system lines in a room's timeline. System lines are written by the services
that make the change, in the same transaction; notes by agents. Both are events
(`conversation_activity_created`) for the desk; customers never receive them."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from app.conversations import store as conversations_store
from app.conversations.store import ActivityRow, RoomRow
from app.core.events import record_event
from app.domain.enums import EventType
from app.domain.principal import room_audience
from app.domain.resources import ActivityOut, MentionOut
from app.domain.timefmt import fmt, now
from app.domain.topics import conversation_topic

NOTE = "note"
SYSTEM = "system"


def activity_out(row: ActivityRow) -> ActivityOut:
    return ActivityOut(
        id=str(row.id),
        conversation_id=str(row.conversation_id),
        customer_id=str(row.customer_id),
        kind=row.kind,
        agent_id=str(row.agent_id) if row.agent_id else None,
        text=row.text,
        tm_create=fmt(row.tm_create),
        mentions=msgspec.json.decode(row.mentions or "[]", type=list[MentionOut]),
    )


async def record(
    room: RoomRow,
    kind: str,
    text: str,
    agent_id: str | None = None,
    mentions: list[MentionOut] | None = None,
) -> ActivityOut:
    """Write a timeline line for `room` inside the caller's transaction (a note with the
    mentions its text holds)."""
    row = await conversations_store.insert_activity(
        room, kind, text, agent_id, now(), msgspec.json.encode(mentions or []).decode()
    )
    return await announce(room, row)


async def announce(room: RoomRow, row: ActivityRow) -> ActivityOut:
    """The event of a line already written (routing writes its lines together with their
    audit entries, in one statement)."""
    out = activity_out(row)
    await record_event(
        out.customer_id,
        EventType.CONVERSATION_ACTIVITY_CREATED,
        out,
        [conversation_topic(out.customer_id, out.conversation_id)],
        room_audience(room.owner_id),
    )
    return out


async def for_room(
    conversation_id: uuid.UUID, before: datetime | None = None, limit: int = 50
) -> list[ActivityRow]:
    """Newest first."""
    return await conversations_store.activities_before(conversation_id, before, limit)
