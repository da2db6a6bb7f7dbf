"""Internal notes: what agents write in a room's timeline for each other, never sent to
the customer. A note is an activity line (`activities.record`) in a room the agent may
see; this module sits above both so neither imports the other."""

from __future__ import annotations

from app.conversations import service as conversations
from app.conversations.activities import NOTE, record
from app.core.events import transaction
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.domain.resources import ActivityOut


async def add_note(principal: Principal, conversation_id: str, text: str) -> ActivityOut:
    text = text.strip()
    if not text:
        raise InvalidInput("empty_note", "A note needs some text.")
    if len(text) > 20000:
        raise InvalidInput("note_too_long", "A note can be at most 20,000 characters.")
    async with transaction():
        room = await conversations.get_room(principal, conversation_id)
        return await record(room, NOTE, text, principal.agent_id)
