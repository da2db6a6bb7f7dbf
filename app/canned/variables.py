"""What a canned reply's variables become for a room and the agent inserting it.

`variables_for(room, agent_name)` is the one place that knows where each value comes
from. Until rooms link to contacts (the contacts work), the contact is the room's peer
participant: its name, and the addresses of the room's peers by channel. When contacts
land, this function reads the room's contact instead and nothing else changes."""

from __future__ import annotations

from app.conversations import store as conversations_store
from app.conversations.store import ParticipantRow, RoomRow
from app.domain.enums import ParticipantType
from app.domain.participants import display_name, peers
from app.domain.variables import split_name


def _the_peer(room: RoomRow, people: list[ParticipantRow]) -> ParticipantRow | None:
    """The customer the room is with: the peer the room was opened with, else the first
    one who joined."""
    for p in people:
        if p.target == room.reference_id:
            return p
    return people[0] if people else None


def _first(people: list[ParticipantRow], *types: ParticipantType) -> str:
    wanted = {t.value for t in types}
    return next((p.target for p in people if p.type in wanted), "")


async def variables_for(room: RoomRow, agent_name: str) -> dict[str, str]:
    """Every variable's value ("" when the room does not know it), for the agent shown as
    `agent_name` (its name, else its username: agent_store.names)."""
    everyone = (await conversations_store.live_participants([room.id]))[str(room.id)]
    people = [p for p in peers(everyone) if p.type != ParticipantType.AGENT.value]
    peer = _the_peer(room, people)
    name = (display_name(peer.target_name) or peer.name) if peer else ""
    first, last = split_name(name)
    return {
        "contact.name": name,
        "contact.first_name": first,
        "contact.last_name": last,
        "contact.email": _first(people, ParticipantType.EMAIL),
        "contact.phone": _first(people, ParticipantType.TEL, ParticipantType.WHATSAPP),
        "agent.name": agent_name,
        "agent.first_name": split_name(agent_name)[0],
        "conversation.id": str(room.id),
        "conversation.name": room.name,
    }
