"""Merging room B into room A (`POST /v1.0/conversations/{A}/merge {"conversation_id": B}`).

B's participants (one per type and address: a shared address stays A's), messages, notes
and system lines move into A, whose timeline is ordered by time, so they fall in place;
the tags combine. B closes with `merged_into` = A: the API still returns it (so a client
holding B learns where it went) and the desk's URL of B redirects to A. A system line in
each room and an audit entry record who merged what; events: `conversation_updated` for A
and B, then `conversation_merged` (B).

Rows move rather than being copied: a message has one room, its provider id stays unique,
and B's address now finds A when the customer writes again.
"""

from __future__ import annotations

from app.audit import log as audit
from app.conversations import activities, rooms_store
from app.conversations import service as conversations
from app.conversations.shapes import room_event, room_out
from app.conversations.store import RoomRow
from app.core.events import transaction
from app.core.ids import parse_id
from app.domain import sla as sla_rules
from app.domain.enums import ConversationStatus, EventType
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.principal import Principal, may_see_room
from app.domain.resources import ConversationOut
from app.domain.timefmt import now
from app.people import agents
from app.reports import facts
from app.routing import engine
from app.sla import tracking as sla


def _visible(principal: Principal, room: RoomRow | None) -> bool:
    owner = str(room.owner_id) if room is not None and room.owner_id else None
    return room is not None and may_see_room(principal, owner)


async def merge(principal: Principal, conversation_id: str, source_id: str) -> ConversationOut:
    """Merge room `source_id` (B) into `conversation_id` (A); returns A as it now is.
    Either room unknown, deleted, another customer's or not the caller's to see: 404.
    Into itself: 422. A room already merged away, on either side: 409."""
    target_id = parse_id(conversation_id, "conversation_not_found", "conversation")
    source_id = parse_id(source_id, "conversation_not_found", "conversation")
    if target_id == source_id:
        raise InvalidInput("merge_into_itself", "A conversation cannot be merged into itself.")
    async with transaction():
        rooms = await rooms_store.lock_pair(principal.customer_id, target_id, source_id)
        target, source = rooms.get(target_id), rooms.get(source_id)
        if not _visible(principal, target) or not _visible(principal, source):
            raise NotFound("conversation_not_found", "There is no such conversation.")
        assert target is not None and source is not None
        if target.merged_into is not None or source.merged_into is not None:
            raise Conflict(
                "conversation_merged", "That conversation was already merged into another."
            )
        stamp = now()
        await rooms_store.move_timeline(source.id, target.id)
        await facts.merged(target.id, source.id)
        target = await rooms_store.absorb(target, source, stamp)
        was_open = source.status != ConversationStatus.CLOSED.value
        was_snoozed = source.tm_snoozed is not None
        source = await rooms_store.close_merged(source.id, target.id, stamp)
        # the SLA clocks: A's history now holds B's messages; B is closed and empty
        target = await sla.on_change(target, [], stamp, history_moved=True)
        closed = [sla_rules.CLOSED] if was_open else []
        woke = [sla_rules.WOKE] if was_snoozed else []
        source = await sla.on_change(source, closed + woke, stamp, history_moved=True)
        target_out, source_out = await room_out(target), await room_out(source)
        await room_event(EventType.CONVERSATION_UPDATED, target_out)
        await room_event(EventType.CONVERSATION_UPDATED, source_out)
        await room_event(EventType.CONVERSATION_MERGED, source_out)
        actor = await agents.display_name(principal)
        await activities.record(
            target,
            activities.SYSTEM,
            f"{actor} merged “{source.name}” into this conversation",
            principal.agent_id,
        )
        await activities.record(
            source,
            activities.SYSTEM,
            f"{actor} merged this conversation into “{target.name}”",
            principal.agent_id,
        )
        await audit.record(
            principal.customer_id,
            principal,
            "conversation.merged",
            "conversation",
            source.id,
            {"status": "closed" if not was_open else "open", "merged_into": None},
            {"merged_into": str(target.id), "into_name": target.name, "from_name": source.name},
        )
        if was_open and source.owner_id is not None:
            # B's owner has a slot free: the heads of its teams' queues get it
            await engine.room_changed(
                principal.customer_id, source, route_room=False, freed_by=source.owner_id
            )
    return target_out


async def candidates(
    principal: Principal, conversation_id: str, q: str | None = None, limit: int = 20
) -> list[tuple[ConversationOut, bool]]:
    """Rooms this one could be merged into, for the desk's picker: those sharing a
    participant's address first (the same person's other rooms), then the latest active.
    Each with whether it shares a participant."""
    room = await conversations.get_room(principal, conversation_id)
    viewer = None if principal.sees_all_conversations else principal.agent_id
    q = (q or "").strip()[:200] or None
    found = await rooms_store.merge_candidates(principal.customer_id, room.id, viewer, q, limit)
    outs = await conversations.rooms_out([r for r, _ in found])
    return [(out, shares) for out, (_, shares) in zip(outs, found, strict=True)]
