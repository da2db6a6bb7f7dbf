"""What a canned reply's variables become for a room and the agent inserting it.

`variables_for(room, agent_name)` is the one place that knows where each value comes
from. The contact is the contact of the room's customer (the peer the room was opened
with): its names, and its primary (else first) email address and phone number. A room
whose peer has no contact (a participant added before contacts existed) falls back on the
peer participant: its name, and the addresses of the room's peers by channel."""

from __future__ import annotations

from app.contacts import store as contacts_store
from app.contacts.store import AddressRow, ContactRow
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


def _address(addresses: list[AddressRow], *types: str) -> str:
    """The primary address of these types, else the first one added."""
    of_type = [a for a in addresses if a.type in types]
    primary = [a for a in of_type if a.is_primary]
    return (primary or of_type)[0].target if of_type else ""


def _contact_name(contact: ContactRow) -> tuple[str, str, str]:
    """Name, first name and last name as the contact's own fields give them."""
    whole = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    name = contact.display_name or whole
    first, last = contact.first_name, contact.last_name
    if not first and not last:
        first, last = split_name(name)
    return name, first, last


async def variables_for(room: RoomRow, agent_name: str) -> dict[str, str]:
    """Every variable's value ("" when the room does not know it), for the agent shown as
    `agent_name` (its name, else its username: agent_store.names)."""
    everyone = (await conversations_store.live_participants([room.id]))[str(room.id)]
    people = [p for p in peers(everyone) if p.type != ParticipantType.AGENT.value]
    peer = _the_peer(room, people)
    name = (display_name(peer.target_name) or peer.name) if peer else ""
    first, last = split_name(name)
    email = _first(people, ParticipantType.EMAIL)
    phone = _first(people, ParticipantType.TEL, ParticipantType.WHATSAPP)
    contact = None
    if peer is not None and peer.contact_id is not None:
        found = await contacts_store.by_ids(str(room.customer_id), [peer.contact_id])
        contact = found[0] if found else None
    if contact is not None:
        name, first, last = _contact_name(contact)
        addresses = (await contacts_store.addresses([contact.id]))[str(contact.id)]
        email = _address(addresses, "email") or email
        phone = _address(addresses, "tel", "whatsapp") or phone
    return {
        "contact.name": name,
        "contact.first_name": first,
        "contact.last_name": last,
        "contact.email": email,
        "contact.phone": phone,
        "agent.name": agent_name,
        "agent.first_name": split_name(agent_name)[0],
        "conversation.id": str(room.id),
        "conversation.name": room.name,
    }
