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

from app.business_hours import closed_reply
from app.canned import signatures
from app.channels import StatusUpdate, accounts
from app.channels.account_store import AccountRow
from app.contacts import matching as contacts
from app.conversations import activities, snooze
from app.conversations import message_store as messages_store
from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.conversations.message_store import MessageRow
from app.conversations.store import ActivityRow, ParticipantRow, RoomRow
from app.core import events
from app.core.events import record_event, savepoint, transaction
from app.core.ids import parse_id
from app.core.pagination import check_page_size, parse_token
from app.csat import service as csat
from app.csat.store import SurveyRow
from app.domain import csat as csat_rules
from app.domain import storable
from app.domain.channels import PARTICIPANT_FOR_REFERENCE, normalize_address, preview
from app.domain.content import require_content
from app.domain.enums import (
    ConversationStatus,
    Direction,
    EventType,
    MessageStatus,
    ParticipantType,
    ReferenceType,
)
from app.domain.errors import BadRequest, Conflict, InvalidInput, NotFound
from app.domain.inbound import InboundMessage
from app.domain.participants import ME, has_name, is_visitor_label, peers
from app.domain.principal import Principal, room_audience
from app.domain.resources import (
    Address,
    Media,
    MessageCreate,
    MessageOut,
    MessageUpdate,
    TimelineLine,
    TimelineMessage,
    TimelineNote,
    TimelineSystem,
)
from app.domain.timefmt import fmt, now, parse
from app.domain.topics import conversation_topic
from app.metrics import instruments as metrics
from app.people.agents import names as agents_names
from app.routing import engine
from app.sla import tracking as sla


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
        agent_id=str(row.agent_id) if row.agent_id else None,
        scheduled_at=fmt(row.scheduled_at) if row.scheduled_at else None,
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
    agent_id: str | None = None,
    scheduled_at: datetime | None = None,
) -> MessageRow:
    """A message between the peer `participant` and the customer's own address on
    `account`: inbound ones are done when stored, outbound ones start progressing (or
    wait, `scheduled`, until `scheduled_at`)."""
    me = Address(type=participant.type, target=account.address, target_name=ME, name="")
    peer = Address(
        type=participant.type,
        target=participant.target,
        target_name=participant.target_name,
        name=participant.name,
    )
    inbound = direction is Direction.INBOUND
    if inbound:
        status = MessageStatus.DONE
    elif scheduled_at is not None:
        status = MessageStatus.SCHEDULED
    else:
        status = MessageStatus.PROGRESSING
    return await messages_store.insert(
        customer_id=room.customer_id,
        conversation_id=room.id,
        participant_id=participant.id,
        account_id=account.id,
        direction=direction.value,
        status=status.value,
        reference_type=accounts.reference_of(account).value,
        reference_id=participant.target,
        source=peer if inbound else me,
        destination=me if inbound else peer,
        text=text,
        medias=medias,
        provider_message_id=provider_message_id,
        at=stamp,
        agent_id=agent_id,
        scheduled_at=scheduled_at,
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
    room: RoomRow,
    text: str,
    medias: list[dict[str, Any]],
    stamp: datetime,
    *,
    reply: bool = False,
    agent_id: str | None = None,
    clocks: sla.Moved | None = None,
    locked: bool = True,
    last: bool = False,
) -> RoomRow:
    """Record the message on its room: preview, activity time, and idle → active (and, for
    the assignee's own reply, the end of its wait: `store.record_message`), and the SLA
    clocks it moved (`clocks`, from `sla.on_message`). Not `locked`: the room was read
    without its lock and `store.fits_unlocked` said the message only moves its summary;
    `_Busy` when the room changed since, so that it did not. With `last`, that UPDATE is
    the transaction's last write (`events.write_last`: its row lock is then held only for
    the events and the COMMIT, where a busy room queues) and the room is returned as read
    (its owner, status, snooze and team, which the UPDATE checks, are what it has); then
    `_Busy` leaves the caller's `transaction()`, which must be its own."""
    if not locked:
        assert clocks is None  # a message that fits moves no clock (sla.on_message)
        summary = preview(text, medias)

        async def record() -> RoomRow:
            found = await conversations_store.record_message_unlocked(
                room, summary, stamp, reply=reply, agent_id=agent_id
            )
            if found is None:
                raise _Busy
            return found

        if last:

            async def record_last() -> None:
                await record()

            events.write_last(record_last)
            return room
        return await record()
    updated = await conversations_store.record_message(
        room.id,
        preview(text, medias),
        stamp,
        reply=reply,
        agent_id=agent_id,
        sla=clocks.columns if clocks is not None else None,
    )
    if room.status != ConversationStatus.ACTIVE.value:
        await conversations.room_event(
            EventType.CONVERSATION_UPDATED, await conversations.room_out(updated)
        )
    return updated


class _Busy(Exception):
    """The room a message was being recorded on without its lock changed meanwhile in a
    way only the locked path handles: the attempt is rolled back to its savepoint and the
    message goes the locked way, as it always did (docs/ARCHITECTURE.md, "Hot rooms")."""


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
    received = await _receive(account, inbound, default_region)
    if not received.duplicate:
        # counted once committed (a message rolled back was never received), and here, the
        # one place every channel's messages pass, rather than from the event stream,
        # which would cost a read per event
        metrics.count_inbound(account.type)
    return received


async def _receive(account: AccountRow, inbound: InboundMessage, default_region: str) -> Received:
    inbound = storable.inbound(inbound)
    try:
        medias = [msgspec.to_builtins(msgspec.convert(m, Media)) for m in inbound.medias]
    except msgspec.ValidationError as exc:
        raise InvalidInput("invalid_media", f"A media of the message is unusable: {exc}.") from None
    # a digit 1-5 may answer a survey (only looked up when no open room takes it)
    answer = None if medias else csat_rules.parse_reply(inbound.text)
    if events.outermost():  # our own transaction: the room's summary can be written last
        try:
            async with transaction():
                return await _receive_in(account, inbound, medias, answer, default_region, True)
        except _Busy:
            pass  # the room changed meanwhile: all of it again, the room read anew
    async with transaction():
        return await _receive_in(account, inbound, medias, answer, default_region, False)


async def _receive_in(
    account: AccountRow,
    inbound: InboundMessage,
    medias: list[dict[str, Any]],
    answer: csat_rules.Answer | None,
    default_region: str,
    last: bool,
) -> Received:
    """`receive` in the caller's transaction. A plain message (`_plain_room`) records its
    room's summary without the lock: `last`, as the transaction's last write (`_Busy`
    leaves the transaction when the room changed meanwhile); else in a savepoint, and
    under the lock when the room changed."""
    sender = await _sender(account, inbound, default_region, dedupe=True)
    if isinstance(sender, Received):
        return sender
    plain = await _plain_room(inbound, sender)
    if plain is not None and last:
        return await _record_inbound(account, inbound, plain, medias, locked=False, last=True)
    if plain is not None:
        try:
            async with savepoint():
                return await _record_inbound(account, inbound, plain, medias, locked=False)
        except _Busy:
            pass  # the room changed meanwhile: placed again, under its lock
    placed = await _place(account, inbound, sender, answer=answer)
    if placed.survey is not None:
        assert answer is not None  # _place looks for a survey only with an answer
        return await _survey_answered(account, inbound, placed, answer)
    return await _record_inbound(account, inbound, placed, medias, locked=True)


async def _record_inbound(
    account: AccountRow,
    inbound: InboundMessage,
    placed: _Placed,
    medias: list[dict[str, Any]],
    *,
    locked: bool,
    last: bool = False,
) -> Received:
    """The message stored in the room `_place` (locked) or `_plain_room` (not `locked`)
    found, and all that follows from it (`last`: see `_after_message`)."""
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
    # the SLA clocks this message moves (before the wake below, which folds the
    # room's history again, this message included)
    clocks = await sla.on_message(placed.room, inbound=True, at=stamp)
    room = await _after_message(
        placed.room, inbound.text, medias, stamp, clocks=clocks, locked=locked, last=last
    )
    out = message_out(row)
    await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
    await _message_event(EventType.CONVERSATION_MESSAGE_RECEIVED, out, room.owner_id)
    await sla.announce(room, clocks)
    if room.tm_snoozed is not None:  # the customer wrote: the snooze ends
        room = await snooze.woken_by_message(room)
    if conversations_store.awaits_routing(room):
        # a new room of a team's channel (or one of its rooms nobody decided for yet):
        # routing gives it to a member or queues it, after the message is stored so
        # the room it announces is complete
        await engine.route_locked(room, trigger="inbound")
    if closed_reply.wanted(account.settings):
        await _closed_reply(room, placed.participant, account, stamp)
    return Received(
        message=out, conversation_id=str(room.id), new_room=placed.new_room, duplicate=False
    )


async def _survey_answered(
    account: AccountRow, inbound: InboundMessage, placed: _Placed, answer: csat_rules.Answer
) -> Received:
    """A text reply to a closed room's survey: kept in that room (its history shows what
    the customer wrote, and a provider's retry finds it), recorded as the rating, and the
    room stays closed — no room is opened or reopened for it."""
    assert placed.survey is not None
    room = placed.room
    stamp = now()
    row = await _insert_message(
        room,
        placed.participant,
        account,
        Direction.INBOUND,
        inbound.text,
        [],
        stamp,
        provider_message_id=inbound.provider_message_id,
    )
    await conversations_store.record_preview(room.id, preview(inbound.text, []), stamp)
    out = message_out(row)
    await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
    await _message_event(EventType.CONVERSATION_MESSAGE_RECEIVED, out, room.owner_id)
    await csat.record_answer(placed.survey, room, answer.rating, answer.comment)
    return Received(message=out, conversation_id=str(room.id), new_room=False, duplicate=False)


async def _closed_reply(
    room: RoomRow, participant: ParticipantRow, account: AccountRow, at: datetime
) -> None:
    """Answer a message that came in while the room's business hours are closed (once per
    closed period: business_hours.closed_reply), to its sender on the account it came by.
    It goes out like any reply, but it is nobody's: no agent, no signature, and it
    answers for no assignee (their wait goes on)."""
    text = await closed_reply.reply_for(
        account.settings, room.customer_id, room.team_id, room.id, at
    )
    if text is None:
        return
    stamp = now()
    row = await _insert_message(room, participant, account, Direction.OUTBOUND, text, [], stamp)
    await messages_store.enqueue(str(room.customer_id), row.id, account.id, stamp)
    await closed_reply.sent(room.customer_id, room.id, row.id, stamp)
    room = await _after_message(room, text, [], stamp)
    await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, message_out(row), room.owner_id)


async def greet(account: AccountRow, inbound: InboundMessage, *, default_region: str = "US") -> str:
    """Find or open the room for someone who reached out without a message yet (LINE's
    `follow`, a web chat visitor leaving their name and email). Returns the room id."""
    inbound = storable.inbound(inbound)
    async with transaction():
        sender = await _sender(account, inbound, default_region, dedupe=False)
        assert not isinstance(sender, Received)  # without dedupe there is no earlier delivery
        placed = await _place(account, inbound, sender)
        room = placed.room
        if conversations_store.awaits_routing(room):
            await engine.route_locked(room, trigger="inbound")
    return str(placed.room.id)


class _Placed(msgspec.Struct, frozen=True, kw_only=True):
    room: RoomRow
    """Locked (by `_place`; `_plain_room`'s is not)."""
    participant: ParticipantRow
    """The sender's participant there."""
    new_room: bool
    survey: SurveyRow | None = None
    """The closed room's survey this message answers (locked); the room is that room."""


class _Sender(msgspec.Struct, frozen=True, kw_only=True):
    """Who an inbound message is from, as `_sender` found it."""

    customer_id: str
    reference_type: ReferenceType
    ptype: ParticipantType
    peer: str
    identities: list[tuple[ParticipantType, str, str]]
    """The other addresses the message declares: (type, address, name)."""
    known: contacts.Resolved
    """Their contacts."""


async def _sender(
    account: AccountRow, inbound: InboundMessage, default_region: str, *, dedupe: bool
) -> Received | _Sender:
    """The sender of an inbound message and their contacts, with the sender's addresses
    locked until the transaction ends; or the stored message when this is a provider's
    retry. Runs in the caller's transaction."""
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
    return _Sender(
        customer_id=customer_id,
        reference_type=reference_type,
        ptype=ptype,
        peer=peer,
        identities=identities,
        known=known,
    )


async def _plain_room(inbound: InboundMessage, sender: _Sender) -> _Placed | None:
    """The sender's open room, read without its lock, when the message needs nothing of
    it but its summary moved (`store.fits_unlocked`: active, their turn already, not
    snoozed, routed) and names no room and no other address, and the sender's
    participant there learns nothing from it (`_refresh_peer`). None: `_place` decides,
    under the room's lock. A hot room's messages do not wait for each other here."""
    if inbound.conversation_hint or inbound.references or sender.identities:
        return None
    found = await conversations_store.latest_open_room_of_address(
        sender.customer_id, sender.ptype.value, sender.peer, lock=False
    )
    if found is None:
        return None
    room, participant = found
    if not conversations_store.fits_unlocked(room, inbound=True, agent=False):
        return None
    if _new_name(participant, inbound) or participant.contact_id != sender.known.sender:
        return None
    return _Placed(room=room, participant=participant, new_room=False)


async def _place(
    account: AccountRow,
    inbound: InboundMessage,
    sender: _Sender,
    *,
    answer: csat_rules.Answer | None = None,
) -> _Placed:
    """The room (locked) and participant an inbound message from this sender belongs to,
    opening or joining one by the room-matching rule above. Runs in the caller's
    transaction, after `_sender`."""
    customer_id, ptype, peer = sender.customer_id, sender.ptype, sender.peer
    identities, known = sender.identities, sender.known
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
    if room is None and answer is not None:
        # no open room: the message may be the answer to a closed room's survey
        waiting = await csat.awaiting_text_answer(customer_id, ptype, peer)
        if waiting is not None:
            return _Placed(
                room=waiting.room,
                participant=waiting.participant,
                new_room=False,
                survey=waiting.survey,
            )
    new_room = room is None
    if room is None or participant is None:
        room, participant = await conversations.open_room(
            customer_id,
            reference_type=sender.reference_type,
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


def _new_name(participant: ParticipantRow, inbound: InboundMessage) -> bool:
    """The message gives a name to a sender known by none so far."""
    return bool(inbound.peer_name) and not has_name(participant.target_name)


async def _refresh_peer(
    room: RoomRow, participant: ParticipantRow, inbound: InboundMessage, contact_id: uuid.UUID
) -> tuple[RoomRow, ParticipantRow]:
    """What an inbound message teaches about a sender already in the room: the name they
    now give, and their contact (a participant from before contacts, or whose contact was
    deleted, is linked now). A room still called by a web chat visitor's label takes the
    name they left. Rare, so the room's event for it costs the hot path nothing."""
    changed = False
    if _new_name(participant, inbound):
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


MAX_SCHEDULE_AHEAD = timedelta(days=365)
"""How far ahead a reply may be scheduled: further is almost surely a typo (a year)."""


def sender_agent(principal: Principal) -> str | None:
    """Whom an outbound message is attributed to: the signed-in agent (desk, token, demo);
    an access key is an integration and a rule is no person typing, so their messages carry
    none."""
    if principal.via == "accesskey" or principal.is_automation or not principal.agent_id:
        return None
    return principal.agent_id


def _time_field(value: str, field: str) -> datetime:
    try:
        return parse(value)
    except ValueError:
        raise InvalidInput(
            "invalid_time",
            f"{field}: a time like 2026-12-02 13:00:00.000000 (UTC) or ISO 8601 is needed.",
            fields=[{"field": field, "message": "not a time"}],
        ) from None


def schedule_time(value: str, at: datetime) -> datetime:
    """When a scheduled reply is due: in the future, at most MAX_SCHEDULE_AHEAD away."""
    due = _time_field(value, "scheduled_at")
    if due <= at:
        raise InvalidInput(
            "scheduled_in_past",
            "A reply can only be scheduled for a time in the future.",
            fields=[{"field": "scheduled_at", "message": "in the past"}],
        )
    if due > at + MAX_SCHEDULE_AHEAD:
        raise InvalidInput(
            "scheduled_too_far",
            "A reply can be scheduled at most 365 days ahead.",
            fields=[{"field": "scheduled_at", "message": "more than 365 days ahead"}],
        )
    return due


class StaleReply(Conflict):
    """Someone wrote in the room after the sender last looked (Help Scout's traffic cop)."""

    def __init__(self, message: str, *, who: str, at: datetime) -> None:
        super().__init__("stale_reply", message)
        self.who = who
        self.at = at


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


async def _check_not_stale(room: RoomRow, since_text: str, agent_id: str | None) -> None:
    since = _time_field(since_text, "if_no_activity_since")
    newer = await messages_store.newer_than(room.id, since, agent_id)
    if newer is None:
        return
    if newer.direction == Direction.INBOUND.value:
        who = storable.text(newer.source_name) if has_name(newer.source_name) else ""
        who = who or "The customer"
        verb = "wrote"
    elif newer.agent_id is not None:
        names = await agents_names(str(room.customer_id), [newer.agent_id])
        who = names.get(str(newer.agent_id), "Another agent")
        verb = "replied"
    else:
        who, verb = "An integration", "replied"
    ago = _ago((now() - newer.tm_create).total_seconds())
    raise StaleReply(f"{who} {verb} {ago} — send anyway?", who=who, at=newer.tm_create)


async def send_message(
    principal: Principal, conversation_id: str, data: MessageCreate
) -> MessageOut:
    require_content(data.text, bool(data.medias))
    medias = [msgspec.to_builtins(m) for m in data.medias]
    agent_id = sender_agent(principal)
    stamp = now()
    due = schedule_time(data.scheduled_at, stamp) if data.scheduled_at is not None else None
    if due is None and events.outermost():
        # our own transaction: a reply that only moves its room's summary writes it last
        try:
            async with transaction():
                room = await conversations.get_room(principal, conversation_id)
                if conversations_store.fits_unlocked(
                    room, inbound=False, agent=agent_id is not None
                ):
                    return await _send(
                        principal, room, data, medias, agent_id, None, False, last=True
                    )
                room = await conversations.get_room(principal, conversation_id, lock=True)
                return await _send(principal, room, data, medias, agent_id, None, True)
        except _Busy:
            pass  # the room changed meanwhile: all of it again, the room read anew
    async with transaction():
        if due is None:  # (a scheduled reply moves nothing of its room until it goes out)
            room = await conversations.get_room(principal, conversation_id)
            if conversations_store.fits_unlocked(room, inbound=False, agent=agent_id is not None):
                try:
                    async with savepoint():
                        return await _send(principal, room, data, medias, agent_id, None, False)
                except _Busy:
                    pass  # the room changed meanwhile: sent again, under its lock
        room = await conversations.get_room(principal, conversation_id, lock=True)
        return await _send(principal, room, data, medias, agent_id, due, True)


async def _send(
    principal: Principal,
    room: RoomRow,
    data: MessageCreate,
    medias: list[Any],
    agent_id: str | None,
    due: datetime | None,
    locked: bool,
    *,
    last: bool = False,
) -> MessageOut:
    """The reply stored in `room` (locked, or read without its lock when
    `store.fits_unlocked` said the reply only moves its summary: then `_Busy` if the room
    changed since) and queued, and what follows from it (`last`: see `_after_message`)."""
    if data.if_no_activity_since is not None:
        await _check_not_stale(room, data.if_no_activity_since, agent_id)
    participant, account = await _route(room, data)
    # the agent's signature, where the account says so: stored as sent
    text = await signatures.signed(principal, account, data.text)
    stamp = now()
    row = await _insert_message(
        room,
        participant,
        account,
        Direction.OUTBOUND,
        text,
        medias,
        stamp,
        agent_id=agent_id,
        scheduled_at=due,
    )
    await messages_store.enqueue(principal.customer_id, row.id, account.id, stamp, due)
    clocks = None
    if due is None:
        if agent_id is not None:  # an agent's reply: it answers the SLA clocks
            clocks = await sla.on_message(room, inbound=False, at=stamp)
        # the room's UPDATE last of the writes: unlocked, its row lock is held only from
        # here to the commit
        room = await _after_message(
            room,
            text,
            medias,
            stamp,
            reply=True,
            agent_id=agent_id,
            clocks=clocks,
            locked=locked,
            last=last,
        )
    out = message_out(row)
    # a scheduled reply enters the room's history (its preview, its activity, the
    # assignee's wait, and `conversation_message_created`) when it goes out:
    # start_scheduled. Until then it is `conversation_message_scheduled`.
    await _message_event(
        EventType.CONVERSATION_MESSAGE_CREATED
        if due is None
        else EventType.CONVERSATION_MESSAGE_SCHEDULED,
        out,
        room.owner_id,
    )
    await sla.announce(room, clocks)
    return out


async def send_system_message(
    room: RoomRow, participant: ParticipantRow, account: AccountRow, text: str
) -> MessageOut:
    """A message Convodesk itself sends in a room, attributed to no agent (a satisfaction
    survey), in the caller's transaction with the room locked. It goes through the send
    queue like a reply and moves the room's preview, but it is no activity: a closed room
    stays closed (a reply would reopen it)."""
    stamp = now()
    row = await _insert_message(room, participant, account, Direction.OUTBOUND, text, [], stamp)
    await messages_store.enqueue(str(room.customer_id), row.id, account.id, stamp)
    await conversations_store.record_preview(room.id, preview(text, []), stamp)
    out = message_out(row)
    await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
    return out


async def _scheduled_in_room(
    principal: Principal, conversation_id: str, message_id: str
) -> tuple[RoomRow, MessageRow]:
    """The room (locked) and its message (locked), which must still be scheduled."""
    message_id = parse_id(message_id, "message_not_found", "message")
    room = await conversations.get_room(principal, conversation_id, lock=True)
    row = await messages_store.lock_in_room(room.id, message_id)
    if row is None:
        raise NotFound("message_not_found", "There is no such message.")
    if row.status != MessageStatus.SCHEDULED.value:
        raise Conflict(
            "not_scheduled",
            f"Only a scheduled message can be changed or cancelled; this one is {row.status}.",
        )
    return room, row


async def get_message(principal: Principal, conversation_id: str, message_id: str) -> MessageOut:
    message_id = parse_id(message_id, "message_not_found", "message")
    room = await conversations.get_room(principal, conversation_id)
    row = await messages_store.by_id(message_id)
    if row is None or row.conversation_id != room.id or row.tm_delete is not None:
        raise NotFound("message_not_found", "There is no such message.")
    return message_out(row)


async def update_scheduled(
    principal: Principal, conversation_id: str, message_id: str, data: MessageUpdate
) -> MessageOut:
    """A scheduled message's new text or time (`conversation_message_updated`)."""
    stamp = now()
    due = (
        schedule_time(data.scheduled_at, stamp)
        if not isinstance(data.scheduled_at, msgspec.UnsetType)
        else None
    )
    async with transaction():
        room, row = await _scheduled_in_room(principal, conversation_id, message_id)
        text = row.text if isinstance(data.text, msgspec.UnsetType) else data.text
        require_content(text, bool(row.medias))
        assert row.scheduled_at is not None  # a scheduled message has its time
        row = await messages_store.reschedule(row.id, text, due or row.scheduled_at, now())
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, room.owner_id)
    return out


async def cancel_scheduled(
    principal: Principal, conversation_id: str, message_id: str
) -> MessageOut:
    """A scheduled message is never sent: status `canceled` (`conversation_message_updated`
    and `conversation_message_canceled`). Once it went out, a `409 not_scheduled`."""
    async with transaction():
        room, row = await _scheduled_in_room(principal, conversation_id, message_id)
        row = await messages_store.cancel(row.id, now())
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, room.owner_id)
        await _message_event(EventType.CONVERSATION_MESSAGE_CANCELED, out, room.owner_id)
    return out


async def start_scheduled(message_id: str, queue_id: int) -> MessageRow | None:
    """The sender claimed a scheduled message's queue row: if it is still scheduled and
    due, it becomes a reply going out now (the room's preview and activity move, the
    assignee's wait ends if it is theirs) and is returned to be sent. A canceled one, or
    one whose time was moved later (an edit after the claim), is not sent now. The
    message's lock makes this and an edit or a cancel happen one after the other, and the
    status check makes a second claim (a lease that ran out) send nothing twice."""
    found = await messages_store.by_id(message_id)
    if found is None:
        return None
    async with transaction():
        room = await conversations_store.visible_room(
            str(found.customer_id), str(found.conversation_id), lock=True
        )
        row = await messages_store.lock_in_room(found.conversation_id, message_id)
        if room is None or row is None or row.status != MessageStatus.SCHEDULED.value:
            return None
        stamp = now()
        if row.scheduled_at is not None and row.scheduled_at > stamp:
            await messages_store.not_yet_due(queue_id, row.scheduled_at, stamp)
            return None
        row = await messages_store.start_scheduled(row.id, stamp)
        agent_id = str(row.agent_id) if row.agent_id else None
        medias = msgspec.to_builtins(row.medias)
        clocks = await sla.on_message(room, inbound=False, at=stamp) if agent_id else None
        room = await _after_message(
            room, row.text, medias, stamp, reply=True, agent_id=agent_id, clocks=clocks
        )
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room.owner_id)
        await sla.announce(room, clocks)
    return row


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
    account_id: str = ""
    """The channel account the reply would go out from (its signature setting)."""


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
                    account_id=str(account.id),
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


TIMELINE_KINDS = ("notes", "system")
"""What `GET …/messages?include=` may add to the messages: internal notes, system lines."""


def parse_include(include: str | None) -> list[str]:
    """The activity kinds an `include` parameter names ("notes,system" → note, system);
    both when it is absent."""
    if include is None:
        include = ",".join(TIMELINE_KINDS)
    names = [n.strip() for n in include.split(",") if n.strip()]
    unknown = [n for n in names if n not in TIMELINE_KINDS]
    if unknown:
        raise BadRequest(
            "invalid_parameter",
            f"include: one or more of {', '.join(TIMELINE_KINDS)} (got {unknown[0]!r}).",
        )
    if not names:
        raise BadRequest(
            "invalid_parameter", f"include: one or more of {', '.join(TIMELINE_KINDS)}."
        )
    return sorted({"note" if n == "notes" else "system" for n in names})


async def list_with_lines(
    principal: Principal,
    conversation_id: str,
    kinds: list[str],
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[TimelineMessage | TimelineNote | TimelineSystem], str]:
    """Messages and the room's lines of `kinds`, newest first, each with its `kind`. One
    keyset over both tables: a page never ends inside a run of equal times (the rule of
    core.pagination), so the time token skips and repeats nothing."""
    check_page_size(page_size)
    before = parse_token(page_token)
    room = await conversations.get_room(principal, conversation_id)
    found: list[tuple[datetime, str, TimelineMessage | TimelineNote | TimelineSystem]] = []

    def add(msgs: list[MessageRow], lines: list[ActivityRow]) -> None:
        for m in msgs:
            out = message_out(m)
            found.append((m.tm_create, str(m.id), TimelineMessage(**msgspec.structs.asdict(out))))
        for a in lines:
            line = activities.activity_out(a)
            fields = {f: getattr(line, f) for f in TimelineLine.__struct_fields__}
            kind = TimelineNote if a.kind == activities.NOTE else TimelineSystem
            found.append((a.tm_create, str(a.id), kind(**fields)))

    add(
        await messages_store.of_room(room.id, before=before, limit=page_size + 1),
        await conversations_store.activities_of_kinds(
            room.id, kinds, before=before, limit=page_size + 1
        ),
    )
    found.sort(key=lambda f: (f[0], f[1]), reverse=True)
    if len(found) <= page_size:
        return [f[2] for f in found], ""
    boundary = found[page_size - 1][0]
    page = found[:page_size]
    if found[page_size][0] == boundary:  # a tie across the page's end: take all of it
        page = [f for f in page if f[0] != boundary]
        found = page
        add(
            await messages_store.of_room(room.id, at=boundary, limit=10_000),
            await conversations_store.activities_of_kinds(
                room.id, kinds, at=boundary, limit=10_000
            ),
        )
        page = found
    return [f[2] for f in page], fmt(boundary)


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
    MessageStatus.SCHEDULED.value: -1,
    MessageStatus.PROGRESSING.value: 0,
    MessageStatus.DONE.value: 1,
    MessageStatus.FAILED.value: 2,
    MessageStatus.CANCELED.value: 3,  # final: it never reached a provider
}


def _moves_forward(current: str, new: MessageStatus) -> bool:
    return _RANK[new.value] > _RANK[current]
