"""Internal notes: what agents write in a room's timeline for each other, never sent to
the customer. A note is an activity line (`activities.record`) in a room the agent may
see; this module sits above both so neither imports the other.

`@name` in a note mentions an agent (app/domain/mentions.py): resolved when the note is
written against the agents who may see the room, stored with the note (`mentions`), and
each mentioned agent but the author gets a `mention` notification in the same
transaction. Replies to the customer are never read for mentions."""

from __future__ import annotations

from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.conversations.activities import NOTE, activity_out, record
from app.core.events import record_event, transaction
from app.domain.enums import EventType
from app.domain.errors import InvalidInput
from app.domain.mentions import Mentionable, insert_text
from app.domain.principal import Principal, room_audience
from app.domain.resources import ActivityOut
from app.domain.topics import conversation_topic
from app.notifications import service as notifications


async def add_note(principal: Principal, conversation_id: str, text: str) -> ActivityOut:
    text = text.strip()
    if not text:
        raise InvalidInput("empty_note", "A note needs some text.")
    if len(text) > 20000:
        raise InvalidInput("note_too_long", "A note can be at most 20,000 characters.")
    async with transaction():
        room = await conversations.get_room(principal, conversation_id)
        owner = str(room.owner_id) if room.owner_id else None
        mentions = await notifications.mentions_in(principal.customer_id, owner, text)
        note = await record(room, NOTE, text, principal.agent_id, mentions)
        # the desk's line above is desk-only; API clients and webhooks get this one
        await record_event(
            note.customer_id,
            EventType.CONVERSATION_NOTE_CREATED,
            note,
            [conversation_topic(note.customer_id, note.conversation_id)],
            room_audience(room.owner_id),
        )
        if mentions:
            await notifications.mentioned(
                principal.customer_id,
                note.conversation_id,
                note.id,
                principal.agent_id,
                text,
                mentions,
            )
        return note


async def mention_candidates(
    principal: Principal, conversation_id: str
) -> list[tuple[Mentionable, str]]:
    """Whom a note in this room may mention, each with the text the composer inserts
    after `@` (its display name when that names it alone, else its username)."""
    room = await conversations.get_room(principal, conversation_id)
    agents = await notifications.mentionable(
        principal.customer_id, str(room.owner_id) if room.owner_id else None
    )
    return [(a, insert_text(a, agents)) for a in agents]


async def list_notes(
    principal: Principal, conversation_id: str, page_size: int, page_token: str | None
) -> tuple[list[ActivityOut], str]:
    """The room's internal notes, newest first."""
    room = await conversations.get_room(principal, conversation_id)
    rows, token = await conversations_store.activity_page(room.id, [NOTE], page_size, page_token)
    return [activity_out(r) for r in rows], token
