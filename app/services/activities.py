"""Notes and system lines in a room's timeline. System lines are written by the services
that make the change, in the same transaction; notes by agents. Both are events
(`conversation_activity_created`) for the desk; customers never receive them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.db.tables import Agent
from app.domain.enums import EventType
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.domain.resources import ActivityOut
from app.domain.timefmt import fmt, now
from app.domain.topics import conversation_topic
from app.services import conversations_store
from app.services.conversations_store import ActivityRow, RoomRow
from app.services.events import record_event, transaction

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
    )


async def agent_names(agent_ids: list[Any]) -> dict[str, str]:
    ids = [a for a in agent_ids if a]
    if not ids:
        return {}
    rows = await Agent.select(Agent.id, Agent.name, Agent.username).where(Agent.id.is_in(ids))
    return {str(r["id"]): r["name"] or r["username"] for r in rows}


async def actor_name(principal: Principal) -> str:
    names = await agent_names([principal.agent_id])
    return names.get(principal.agent_id, principal.username)


async def record(room: RoomRow, kind: str, text: str, agent_id: str | None = None) -> ActivityOut:
    """Write a timeline line for `room` inside the caller's transaction."""
    out = activity_out(await conversations_store.insert_activity(room, kind, text, agent_id, now()))
    await record_event(
        out.customer_id,
        EventType.CONVERSATION_ACTIVITY_CREATED,
        out,
        [conversation_topic(out.customer_id, out.conversation_id)],
        [str(room.owner_id)] if room.owner_id else [],
    )
    return out


async def add_note(principal: Principal, conversation_id: str, text: str) -> ActivityOut:
    from app.services import conversations

    text = text.strip()
    if not text:
        raise InvalidInput("empty_note", "A note needs some text.")
    if len(text) > 20000:
        raise InvalidInput("note_too_long", "A note can be at most 20,000 characters.")
    async with transaction():
        room = await conversations.get_room(principal, conversation_id)
        return await record(room, NOTE, text, principal.agent_id)


async def for_room(
    conversation_id: uuid.UUID, before: datetime | None = None, limit: int = 50
) -> list[ActivityRow]:
    """Newest first."""
    return await conversations_store.activities_before(conversation_id, before, limit)
