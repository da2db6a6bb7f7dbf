"""Internal notes: what agents write in a room's timeline for each other, never sent to
the customer. A note is an activity line (`activities.record`) in a room the agent may
see; this module sits above both so neither imports the other."""

from __future__ import annotations

from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.conversations.activities import NOTE, activity_out, record
from app.core.events import record_event, transaction
from app.domain.enums import EventType
from app.domain.errors import InvalidInput
from app.domain.principal import Principal, room_audience
from app.domain.resources import ActivityOut
from app.domain.topics import conversation_topic


async def add_note(principal: Principal, conversation_id: str, text: str) -> ActivityOut:
    text = text.strip()
    if not text:
        raise InvalidInput("empty_note", "A note needs some text.")
    if len(text) > 20000:
        raise InvalidInput("note_too_long", "A note can be at most 20,000 characters.")
    async with transaction():
        room = await conversations.get_room(principal, conversation_id)
        note = await record(room, NOTE, text, principal.agent_id)
        # the desk's line above is desk-only; API clients and webhooks get this one
        await record_event(
            note.customer_id,
            EventType.CONVERSATION_NOTE_CREATED,
            note,
            [conversation_topic(note.customer_id, note.conversation_id)],
            room_audience(room.owner_id),
        )
        return note


async def list_notes(
    principal: Principal, conversation_id: str, page_size: int, page_token: str | None
) -> tuple[list[ActivityOut], str]:
    """The room's internal notes, newest first."""
    room = await conversations.get_room(principal, conversation_id)
    rows, token = await conversations_store.activity_page(room.id, [NOTE], page_size, page_token)
    return [activity_out(r) for r in rows], token
