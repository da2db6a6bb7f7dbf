"""Messages: the one inbound entry point every channel uses, outbound sending, history,
and what the sender worker reports back.

Inbound room matching (README, "Rooms and channels"): a message from (channel, address)
joins the most recently active open room of the customer that has that address as a
participant; else a new room is opened with the customer's address and the peer. Outbound
channel choice: the participant given; else the peer who wrote last; media only over a
channel that carries it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from app.channels import StatusUpdate, accounts
from app.channels.account_store import AccountRow
from app.contacts import matching as contacts
from app.conversations import message_store as messages_store
from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.conversations.message_store import MessageRow
from app.conversations.store import ParticipantRow, RoomRow
from app.core.events import record_event, transaction
from app.core.ids import parse_id
from app.domain import storable
from app.domain.channels import PARTICIPANT_FOR_REFERENCE, normalize_address, preview
from app.domain.content import require_content
from app.domain.enums import (
    ConversationStatus,
    Direction,
    EventType,
    MessageStatus,
    ParticipantType,
)
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.inbound import InboundMessage
from app.domain.participants import ME, has_name, is_visitor_label, peers
from app.domain.principal import Principal, room_audience
from app.domain.resources import Address, Media, MessageCreate, MessageOut
from app.domain.timefmt import fmt, now
from app.domain.topics import conversation_topic
from app.routing import engine


def message_out(row: MessageRow) -> MessageOut:
    return MessageOut(
        id=str(row.id),
        conversation_id=str(row.conversation_id),
        customer_id=str(row.customer_id),
        direction=row.direction,
        status=row.status,
        reference_type=row.reference_type,
        reference_id=row.reference_id,
        source_target=row.source.target,
        source=row.source,
        destination=row.destination,
        participant_id=str(row.participant_id) if row.participant_id else None,
        account_id=str(row.account_id) if row.account_id else None,
        text=row.text,
        medias=row.medias,
        error=row.error,
        provider_message_id=row.provider_message_id,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


async def _insert_message(
    room: RoomRow,
    participant: ParticipantRow,
    account: AccountRow,
    direction: Direction,
    text: str,
    medias: list[dict[str, Any]],
    stamp: datetime,
    *,
    provider_message_id: str = "",
) -> MessageRow:
    """A message between the peer `participant` and the customer's own address on
    `account`: inbound ones are done when stored, outbound ones start progressing."""
    me = Address(type=participant.type, target=account.address, target_name=ME, name="")
    peer = Address(
        type=participant.type,
        target=participant.target,
        target_name=participant.target_name,
        name=participant.name,
    )
    inbound = direction is Direction.INBOUND
    return await messages_store.insert(
        customer_id=room.customer_id,
        conversation_id=room.id,
        participant_id=participant.id,
        account_id=account.id,
        direction=direction.value,
        status=(MessageStatus.DONE if inbound else MessageStatus.PROGRESSING).value,
        reference_type=accounts.reference_of(account).value,
        reference_id=participant.target,
        source=peer if inbound else me,
        destination=me if inbound else peer,
        text=text,
        medias=medias,
        provider_message_id=provider_message_id,
        at=stamp,
    )


async def _message_event(type: EventType, message: MessageOut, owner_id: uuid.UUID | None) -> None:
    await record_event(
        message.customer_id,
        type,
        message,
        [conversation_topic(message.customer_id, message.conversation_id)],
        room_audience(owner_id),
    )


async def _after_message(
    room: RoomRow, text: str, medias: list[dict[str, Any]], stamp: datetime, *, reply: bool = False
) -> RoomRow:
    """Record the message on its room: preview, activity time, and idle → active."""
    updated = await conversations_store.record_message(
        room.id, preview(text, medias), stamp, reply=reply
    )
    if room.status != ConversationStatus.ACTIVE.value:
        await conversations.room_event(
            EventType.CONVERSATION_UPDATED, await conversations.room_out(updated)
        )
    return updated


# --- inbound ------------------------------------------------------------------------


class Received(msgspec.Struct, kw_only=True):
    message: MessageOut
    conversation_id: str
    new_room: bool
    duplicate: bool


async def receive(
    account: AccountRow, inbound: InboundMessage, *, default_region: str = "US"
) -> Received:
    """Store one inbound message in the right room, once. The single entry point for every
    channel; `account` is the channel account it arrived on. What PostgreSQL cannot store
    is removed here, for every channel (domain.storable)."""
    inbound = storable.inbound(inbound)
    try:
        medias = [msgspec.to_builtins(msgspec.convert(m, Media)) for m in inbound.medias]
    except msgspec.ValidationError as exc:
        raise InvalidInput("invalid_media", f"A media of the message is unusable: {exc}.") from None
    async with transaction():
        placed = await _place(account, inbound, default_region, dedupe=True)
        if isinstance(placed, Received):
            return placed
        stamp = now()
        row = await _insert_message(
            placed.room,
            placed.participant,
            account,
            Direction.INBOUND,
            inbound.text,
            medias,
            stamp,
            provider_message_id=inbound.provider_message_id,
        )
        room = await _after_message(placed.room, inbound.text, medias, stamp)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
        await _message_event(EventType.CONVERSATION_MESSAGE_RECEIVED, out, room.owner_id)
        if room.team_id is not None and room.owner_id is None and room.tm_queued is None:
            # a new room of a team's channel (or one of its rooms nobody decided for yet):
            # routing gives it to a member or queues it, after the message is stored so
            # the room it announces is complete
            await engine.route_locked(room, trigger="inbound")
    return Received(
        message=out, conversation_id=str(room.id), new_room=placed.new_room, duplicate=False
    )


async def greet(account: AccountRow, inbound: InboundMessage, *, default_region: str = "US") -> str:
    """Find or open the room for someone who reached out without a message yet (LINE's
    `follow`, a web chat visitor leaving their name and email). Returns the room id."""
    inbound = storable.inbound(inbound)
    async with transaction():
        placed = await _place(account, inbound, default_region, dedupe=False)
        assert isinstance(placed, _Placed)  # without dedupe there is no earlier delivery
        room = placed.room
        if room.team_id is not None and room.owner_id is None and room.tm_queued is None:
            await engine.route_locked(room, trigger="inbound")
    return str(placed.room.id)


class _Placed(msgspec.Struct, frozen=True, kw_only=True):
    room: RoomRow
    """Locked."""
    participant: ParticipantRow
    """The sender's participant there."""
    new_room: bool


async def _place(
    account: AccountRow, inbound: InboundMessage, default_region: str, *, dedupe: bool
) -> Received | _Placed:
    """The room (locked) and participant an inbound message from this sender belongs to,
    opening or joining one by the room-matching rule above; or the stored message when this is a
    provider's retry. Runs in the caller's transaction."""
    customer_id = str(account.customer_id)
    reference_type = accounts.reference_of(account)
    ptype = PARTICIPANT_FOR_REFERENCE[reference_type]
    peer = normalize_address(ptype, inbound.peer, default_region)
    identities = [
        (
            ParticipantType(i["type"]),
            normalize_address(ParticipantType(i["type"]), i["target"], default_region),
            i.get("name", ""),
        )
        for i in inbound.identities
    ]
    for key in sorted({(ptype.value, peer), *((t.value, a) for t, a, _ in identities)}):
        # everything that arrives from one address, one at a time: two first messages
        # from a new person must not open two rooms, and a provider's retry must see the
        # first delivery
        await messages_store.lock_address(customer_id, *key)
    if dedupe and inbound.provider_message_id:
        seen = await messages_store.by_provider_id(account.id, inbound.provider_message_id)
        if seen is not None:
            return Received(
                message=message_out(seen),
                conversation_id=str(seen.conversation_id),
                new_room=False,
                duplicate=True,
            )
    # the sender's contact (and the contacts of what it declares): one indexed lookup
    # when the address is known; made here otherwise (contacts.matching)
    known = await contacts.resolve(
        customer_id,
        (ptype.value, peer),
        [(t.value, a) for t, a, _ in identities],
        name=inbound.peer_name,
        label=inbound.peer_label,
    )
    who = inbound.peer_name or inbound.peer_label or peer
    participant: ParticipantRow | None = None
    room = await _hinted_room(customer_id, inbound.conversation_hint, inbound.references)
    if room is not None:  # a reply that names its room (email threading): it goes there
        participant = await conversations.attach_identity(
            room,
            ptype,
            peer,
            inbound.peer_name,
            f"{who} joined by replying ({ptype.value})",
            known.sender,
        )
    else:
        room, participant = await _matching_room(customer_id, ptype, peer)
    if room is None:
        for itype, address, _ in identities:
            room, _known = await _matching_room(customer_id, itype, address)
            if room is not None:
                participant = await conversations.attach_identity(
                    room,
                    ptype,
                    peer,
                    inbound.peer_name,
                    f"{who} continued on {ptype.value}",
                    known.sender,
                )
                break
    new_room = room is None
    if room is None or participant is None:
        room, participant = await conversations.open_room(
            customer_id,
            reference_type=reference_type,
            peer=peer,
            peer_name=inbound.peer_name,
            account=account,
            name=inbound.topic[:255] or inbound.peer_label,
            contact_id=known.sender,
        )
        await conversations.room_event(
            EventType.CONVERSATION_CREATED, await conversations.room_out(room)
        )
    else:
        room, participant = await _refresh_peer(room, participant, inbound, known.sender)
    for (itype, address, name), contact_id in zip(identities, known.identities, strict=True):
        await conversations.attach_identity(
            room,
            itype,
            address,
            name or inbound.peer_name,
            f"{who} left their {itype.value} address {address}",
            contact_id,
        )
    return _Placed(room=room, participant=participant, new_room=new_room)


async def _refresh_peer(
    room: RoomRow, participant: ParticipantRow, inbound: InboundMessage, contact_id: uuid.UUID
) -> tuple[RoomRow, ParticipantRow]:
    """What an inbound message teaches about a sender already in the room: the name they
    now give, and their contact (a participant from before contacts, or whose contact was
    deleted, is linked now). A room still called by a web chat visitor's label takes the
    name they left. Rare, so the room's event for it costs the hot path nothing."""
    changed = False
    if inbound.peer_name and not has_name(participant.target_name):
        await conversations_store.set_target_name(participant.id, inbound.peer_name)
        participant = msgspec.structs.replace(participant, target_name=inbound.peer_name)
        if is_visitor_label(room.name):
            room = await conversations_store.update_room(
                room.id, conversations_store.RoomChanges(name=inbound.peer_name[:255]), now()
            )
            changed = True
    if participant.contact_id != contact_id:
        await conversations_store.link_contact(participant.id, contact_id)
        participant = msgspec.structs.replace(participant, contact_id=contact_id)
        changed = True
    if changed:
        await conversations.room_event(
            EventType.CONVERSATION_UPDATED, await conversations.room_out(room)
        )
    return room, participant


async def _hinted_room(customer_id: str, hint: str | None, references: list[str]) -> RoomRow | None:
    """The open room a channel says a message belongs to (locked), if there is one: the
    room it names (an email's reply+token address), else the room of the nearest earlier
    message it answers (In-Reply-To, References)."""
    room_id: str | uuid.UUID | None = None
    if hint:
        try:
            room_id = parse_id(hint, "", "")
        except NotFound:
            room_id = None
    if room_id is None and references:
        room_id = await messages_store.room_answered(customer_id, references[:50])
    if room_id is None:
        return None
    return await conversations_store.open_room_for_update(customer_id, room_id)


async def _matching_room(
    customer_id: str, ptype: ParticipantType, peer: str
) -> tuple[RoomRow, ParticipantRow] | tuple[None, None]:
    """The open room this address belongs to (locked), and its participant there."""
    found = await conversations_store.latest_open_room_of_address(customer_id, ptype.value, peer)
    return found if found is not None else (None, None)


# --- outbound -----------------------------------------------------------------------


async def send_message(
    principal: Principal, conversation_id: str, data: MessageCreate
) -> MessageOut:
    require_content(data.text, bool(data.medias))
    medias = [msgspec.to_builtins(m) for m in data.medias]
    async with transaction():
        room = await conversations.get_room(principal, conversation_id, lock=True)
        participant, account = await _route(room, data)
        stamp = now()
        row = await _insert_message(
            room, participant, account, Direction.OUTBOUND, data.text, medias, stamp
        )
        await messages_store.enqueue(principal.customer_id, row.id, account.id, stamp)
        room = await _after_message(room, data.text, medias, stamp, reply=True)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
    return out


class _Routing(msgspec.Struct):
    peers: list[ParticipantRow]
    """Live peer participants, the one who wrote last first, then the room's original
    peer, then the others in the order they joined."""
    accounts: list[AccountRow]


async def _routing(room: RoomRow) -> _Routing:
    people = (await conversations_store.live_participants([room.id]))[str(room.id)]
    others = [p for p in peers(people) if p.type != ParticipantType.AGENT.value]
    last = await messages_store.last_inbound_participant(room.id)

    def rank(item: tuple[int, ParticipantRow]) -> tuple[int, int]:
        index, p = item
        if last is not None and p.id == last:
            return (0, 0)
        if p.target == room.reference_id:
            return (1, 0)
        return (2, index)

    ordered = [p for _, p in sorted(enumerate(others), key=rank)]
    return _Routing(peers=ordered, accounts=await accounts.live_accounts(str(room.customer_id)))


async def _route(room: RoomRow, data: MessageCreate) -> tuple[ParticipantRow, AccountRow]:
    """Which participant, on which channel account, a reply goes to."""
    facts = await _routing(room)
    need_media = bool(data.medias)
    if data.participant_id:
        wanted = parse_id(data.participant_id, "participant_not_found", "participant")
        chosen = [p for p in facts.peers if str(p.id) == wanted]
        if not chosen:
            raise NotFound("participant_not_found", "There is no such participant here.")
        account = await _account_for(facts, room, chosen[0], need_media=need_media)
        if account is None:
            raise InvalidInput(
                "channel_cannot_carry_media" if need_media else "no_channel_account",
                "No connected channel account can deliver this message to that participant.",
            )
        return chosen[0], account
    if not facts.peers:
        raise InvalidInput("no_participant", "This conversation has nobody to send to.")
    for participant in facts.peers:
        account = await _account_for(facts, room, participant, need_media=need_media)
        if account is not None:
            return participant, account
    raise InvalidInput(
        "channel_cannot_carry_media" if need_media else "no_channel_account",
        "No connected channel account can deliver this message to anyone in this conversation"
        + (" with media." if need_media else "."),
    )


class ReplyTarget(msgspec.Struct, kw_only=True):
    participant_id: str
    type: str
    target: str
    target_name: str
    reference_type: str
    carries_media: bool


async def reply_targets(room: RoomRow) -> list[ReplyTarget]:
    """Where a reply can go, the default (who wrote last) first: the desk's channel picker."""
    facts = await _routing(room)
    targets = []
    for participant in facts.peers:
        account = await _account_for(facts, room, participant, need_media=False)
        if account is not None:
            targets.append(
                ReplyTarget(
                    participant_id=str(participant.id),
                    type=participant.type,
                    target=participant.target,
                    target_name=participant.target_name,
                    reference_type=accounts.reference_of(account).value,
                    carries_media=accounts.carries_media(account),
                )
            )
    return targets


async def _account_for(
    facts: _Routing, room: RoomRow, participant: ParticipantRow, *, need_media: bool
) -> AccountRow | None:
    """The account to reach `participant` on: the one it last used, else the room's, else
    the customer's first account of that channel; None if none fits."""
    wanted = ParticipantType(participant.type)
    fitting = [
        a
        for a in facts.accounts
        if PARTICIPANT_FOR_REFERENCE[accounts.reference_of(a)] is wanted
        and (not need_media or accounts.carries_media(a))
    ]
    if not fitting:
        return None
    if len(fitting) == 1:
        return fitting[0]
    used = await messages_store.last_account_of(room.id, participant.id)
    prefer = [used] if used else []
    if room.account_id:
        prefer.append(room.account_id)
    for account_id in prefer:
        for account in fitting:
            if account.id == account_id:
                return account
    return fitting[0]


# --- history ------------------------------------------------------------------------


async def list_messages(
    principal: Principal, conversation_id: str, page_size: int = 100, page_token: str | None = None
) -> tuple[list[MessageOut], str]:
    room = await conversations.get_room(principal, conversation_id)
    rows, token = await messages_store.page_of_room(room.id, page_size, page_token)
    return [message_out(r) for r in rows], token


async def retry(principal: Principal, message_id: str) -> MessageOut:
    """Send a failed outbound message again (an agent's explicit retry): it goes back to
    progressing and into the queue."""
    message_id = parse_id(message_id, "message_not_found", "message")
    async with transaction():
        row = await messages_store.lock_of_customer(principal.customer_id, message_id)
        if row is None:
            raise NotFound("message_not_found", "There is no such message.")
        room = await conversations.get_room(principal, str(row.conversation_id))
        if row.direction != Direction.OUTBOUND.value or row.status != MessageStatus.FAILED.value:
            raise Conflict("not_retryable", "Only a failed outbound message can be sent again.")
        stamp = now()
        row = await messages_store.set_progressing(row.id, stamp)
        await messages_store.requeue(row.id, stamp)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, room.owner_id)
    return out


# --- results from the sender ---------------------------------------------------------


async def record_outcome(
    message_id: str,
    *,
    status: MessageStatus,
    provider_message_id: str = "",
    error: str | None = None,
) -> MessageOut | None:
    """Move an outbound message's status forward (never back: progressing → done or
    failed) and announce it. Returns None when the status was already past that point."""
    # a provider's answer (its id, its error text) is stored as the provider wrote it,
    # less what PostgreSQL cannot hold
    provider_message_id = storable.text(provider_message_id)
    error = None if error is None else storable.text(error)
    async with transaction():
        row = await messages_store.lock(message_id)
        if row is None or not _moves_forward(row.status, status):
            return None
        row = await messages_store.set_outcome(
            row.id, status.value, provider_message_id, error, now()
        )
        owner_id = await conversations_store.owner_of(row.conversation_id)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, owner_id)
        if status is MessageStatus.DONE:
            await _message_event(EventType.CONVERSATION_MESSAGE_SENT, out, owner_id)
    return out


async def provider_status(account: AccountRow, update: StatusUpdate) -> MessageOut | None:
    """A provider's delivery status for a message it took (Twilio's status callback,
    WhatsApp's statuses). They arrive out of order, so status only moves forward; one that
    arrives before the send's response told us the provider's id is kept until it does."""
    update = msgspec.structs.replace(
        update,
        provider_message_id=storable.text(update.provider_message_id),
        error=None if update.error is None else storable.text(update.error),
    )
    if update.status is None or not update.provider_message_id:
        return None
    async with transaction():
        await messages_store.lock_provider_id(account.id, update.provider_message_id)
        message_id = await messages_store.outbound_by_provider_id(
            account.id, update.provider_message_id
        )
        if message_id is None:
            await messages_store.keep_early_status(
                account.id, update.provider_message_id, update.status.value, update.error, now()
            )
            return None
        return await record_outcome(str(message_id), status=update.status, error=update.error)


async def remember_provider_id(
    message_id: str, account_id: str, provider_message_id: str, *, stored: bool = False
) -> None:
    """The provider took the message under this id (already written when `stored`), to
    match its later status callbacks; any status that raced ahead of this is applied now.
    Runs in the caller's transaction."""
    await messages_store.lock_provider_id(uuid.UUID(account_id), provider_message_id)
    if not stored:
        await messages_store.set_provider_id(message_id, provider_message_id, now())
    early = await messages_store.take_early_statuses(uuid.UUID(account_id), provider_message_id)
    for row in early:
        await record_outcome(message_id, status=MessageStatus(row.status), error=row.error)


EARLY_STATUS_TTL = timedelta(days=1)


async def forget_early_statuses() -> int:
    """Drop early statuses nothing claimed within a day (a status for a message part we
    never stored the id of, e.g. the second of a multi-part WhatsApp reply)."""
    return await messages_store.forget_early_statuses(now() - EARLY_STATUS_TTL)


_RANK = {
    MessageStatus.PROGRESSING.value: 0,
    MessageStatus.DONE.value: 1,
    MessageStatus.FAILED.value: 2,
}


def _moves_forward(current: str, new: MessageStatus) -> bool:
    return _RANK[new.value] > _RANK[current]
