"""Messages: the one inbound entry point every channel uses, outbound sending, history,
and what the sender worker reports back.

Inbound room matching (README, "Rooms and channels"): a message from (channel, address)
joins the most recently active open room of the customer that has that address as a
participant; else a new room is opened with the customer's address and the peer. Outbound
channel choice: the participant given; else the peer who wrote last; media only over a
channel that carries it.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import msgspec

from app.channels import StatusUpdate
from app.db import sql
from app.db.tables import Message, OutboundMessage
from app.domain import storable
from app.domain.channels import PARTICIPANT_FOR_REFERENCE, normalize_address, preview
from app.domain.enums import (
    ConversationStatus,
    Direction,
    EventType,
    MessageStatus,
    ParticipantType,
)
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.inbound import InboundMessage
from app.domain.principal import Principal
from app.domain.resources import Address, Media, MessageCreate, MessageOut
from app.domain.timefmt import fmt, now
from app.domain.topics import conversation_topic
from app.services import accounts, conversations
from app.services.events import connection, record_event, transaction
from app.services.ids import parse_id
from app.services.pagination import keyset_page

_ADDRESS_LOCK = 0x0C0DE6  # namespace of pg_advisory_xact_lock(int, int); fits int4


def _dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def decoded(value: Any) -> Any:
    """JSONB as Piccolo returns it (text) → Python."""
    return json.loads(value) if isinstance(value, str) else value


def message_out(row: dict[str, Any]) -> MessageOut:
    source, destination = decoded(row["source"]), decoded(row["destination"])
    return MessageOut(
        id=str(row["id"]),
        conversation_id=str(row["conversation_id"]),
        customer_id=str(row["customer_id"]),
        direction=row["direction"],
        status=row["status"],
        reference_type=row["reference_type"],
        reference_id=row["reference_id"],
        source_target=source.get("target", ""),
        source=msgspec.convert(source, Address),
        destination=msgspec.convert(destination, Address),
        participant_id=str(row["participant_id"]) if row["participant_id"] else None,
        account_id=str(row["account_id"]) if row["account_id"] else None,
        text=row["text"],
        medias=msgspec.convert(decoded(row["medias"]), list[Media]),
        error=row["error"],
        provider_message_id=row["provider_message_id"],
        tm_create=fmt(row["tm_create"]),
        tm_update=fmt(row["tm_update"]),
        tm_delete=fmt(row["tm_delete"]),
    )


def _address(participant: dict[str, Any]) -> dict[str, str]:
    return {
        "type": participant["type"],
        "target": participant["target"],
        "target_name": participant["target_name"],
        "name": participant["name"],
    }


async def _insert_message(
    room: dict[str, Any],
    participant: dict[str, Any],
    account: dict[str, Any],
    direction: Direction,
    text: str,
    medias: list[dict[str, Any]],
    stamp: Any,
    *,
    provider_message_id: str = "",
) -> dict[str, Any]:
    """A message between the peer `participant` and the customer's own address on
    `account`: inbound ones are done when stored, outbound ones start progressing."""
    me = {
        "type": participant["type"],
        "target": account["address"],
        "target_name": "me",
        "name": "",
    }
    peer = _address(participant)
    inbound = direction is Direction.INBOUND
    return await connection().fetchrow(
        "INSERT INTO messages (id, customer_id, conversation_id, participant_id, account_id,"
        " direction, status, reference_type, reference_id, source, destination, text, medias,"
        " provider_message_id, tm_create, tm_update)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13::jsonb,"
        " $14, $15, $15) RETURNING *",
        uuid.uuid4(),
        room["customer_id"],
        room["id"],
        participant["id"],
        account["id"],
        direction.value,
        (MessageStatus.DONE if inbound else MessageStatus.PROGRESSING).value,
        accounts.reference_of(account).value,
        participant["target"],
        _dumps(peer if inbound else me),
        _dumps(me if inbound else peer),
        text,
        _dumps(medias),
        provider_message_id,
        stamp,
    )


async def _message_event(type: EventType, message: MessageOut, room: dict[str, Any]) -> None:
    await record_event(
        message.customer_id,
        type,
        message,
        [conversation_topic(message.customer_id, message.conversation_id)],
        conversations.audience(room["owner_id"]),
    )


async def _lock_address(customer_id: str, ptype: str, target: str) -> None:
    """Serialize everything that arrives from one address: two first messages from a new
    person must not open two rooms, and a provider's retry must see the first delivery."""
    await connection().execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        _ADDRESS_LOCK,
        f"{customer_id}|{ptype}|{target}",
    )


async def _after_message(room: Any, text: str, medias: list, stamp) -> Any:
    """Record the message on its room: preview, activity time, and idle → active."""
    updated = await connection().fetchrow(
        "UPDATE conversations SET last_message = $2, tm_last_message = $3, tm_activity = $3,"
        " tm_update = $3, status = 'active' WHERE id = $1 RETURNING *",
        room["id"],
        preview(text, medias),
        stamp,
    )
    if room["status"] != ConversationStatus.ACTIVE.value:
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
    account: dict[str, Any], inbound: InboundMessage, *, default_region: str = "US"
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
        room, participant, new_room = placed
        stamp = now()
        row = await _insert_message(
            room,
            participant,
            account,
            Direction.INBOUND,
            inbound.text,
            medias,
            stamp,
            provider_message_id=inbound.provider_message_id,
        )
        room = await _after_message(room, inbound.text, medias, stamp)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room)
        await _message_event(EventType.CONVERSATION_MESSAGE_RECEIVED, out, room)
    return Received(
        message=out, conversation_id=str(room["id"]), new_room=new_room, duplicate=False
    )


async def greet(
    account: dict[str, Any], inbound: InboundMessage, *, default_region: str = "US"
) -> str:
    """Find or open the room for someone who reached out without a message yet (LINE's
    `follow`, a web chat visitor leaving their name and email). Returns the room id."""
    inbound = storable.inbound(inbound)
    async with transaction():
        room, _, _ = await _place(account, inbound, default_region, dedupe=False)
    return str(room["id"])


async def _place(
    account: dict[str, Any], inbound: InboundMessage, default_region: str, *, dedupe: bool
) -> Received | tuple[Any, dict[str, Any], bool]:
    """The room (locked) and participant an inbound message from this sender belongs to,
    opening or joining one by the room-matching rule above; or the stored message when this is a
    provider's retry. Runs in the caller's transaction."""
    customer_id = str(account["customer_id"])
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
        await _lock_address(customer_id, *key)
    if dedupe and inbound.provider_message_id:
        seen = await connection().fetchrow(
            "SELECT * FROM messages WHERE account_id = $1 AND provider_message_id <> ''"
            " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2",
            account["id"],
            inbound.provider_message_id,
        )
        if seen is not None:
            return Received(
                message=message_out(seen),
                conversation_id=str(seen["conversation_id"]),
                new_room=False,
                duplicate=True,
            )
    who = inbound.peer_name or peer
    room = await _hinted_room(customer_id, inbound.conversation_hint, inbound.references)
    if room is not None:  # a reply that names its room (email threading): it goes there
        participant = await conversations.attach_identity(
            room, ptype, peer, inbound.peer_name, f"{who} joined by replying ({ptype.value})"
        )
    else:
        room, participant = await _matching_room(customer_id, ptype, peer)
    if room is None:
        for itype, address, _ in identities:
            room, _known = await _matching_room(customer_id, itype, address)
            if room is not None:
                participant = await conversations.attach_identity(
                    room, ptype, peer, inbound.peer_name, f"{who} continued on {ptype.value}"
                )
                break
    new_room = room is None
    if room is None:
        room, participant = await conversations.open_room(
            customer_id,
            reference_type=reference_type,
            peer=peer,
            peer_name=inbound.peer_name,
            account=account,
            name=inbound.topic[:255],
        )
        await conversations.room_event(
            EventType.CONVERSATION_CREATED, await conversations.room_out(room)
        )
    elif inbound.peer_name and participant["target_name"] in ("", conversations.UNKNOWN):
        await connection().execute(
            "UPDATE participants SET target_name = $2 WHERE id = $1",
            participant["id"],
            inbound.peer_name,
        )
        participant = {**participant, "target_name": inbound.peer_name}
    for itype, address, name in identities:
        await conversations.attach_identity(
            room,
            itype,
            address,
            name or inbound.peer_name,
            f"{who} left their {itype.value} address {address}",
        )
    return room, participant, new_room


async def _hinted_room(customer_id: str, hint: str | None, references: list[str]) -> Any:
    """The open room a channel says a message belongs to (locked), if there is one: the
    room it names (an email's reply+token address), else the room of the nearest earlier
    message it answers (In-Reply-To, References)."""
    room_id = None
    if hint:
        try:
            room_id = parse_id(hint, "", "")
        except NotFound:
            room_id = None
    if room_id is None and references:
        room_id = await connection().fetchval(
            "SELECT m.conversation_id FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n)"
            " JOIN messages m ON m.customer_id = $1 AND m.provider_message_id <> ''"
            " AND md5(m.provider_message_id) = md5(r.id) AND m.provider_message_id = r.id"
            " ORDER BY r.n, m.tm_create DESC LIMIT 1",
            customer_id,
            references[:50],
        )
    if room_id is None:
        return None
    return await connection().fetchrow(
        "SELECT * FROM conversations WHERE id = $1 AND customer_id = $2"
        " AND tm_delete IS NULL AND status <> 'closed' FOR UPDATE",
        room_id,
        customer_id,
    )


_MATCH = (
    "SELECT c.*, p.id AS p_id, p.type AS p_type, p.target AS p_target,"
    " p.target_name AS p_target_name, p.name AS p_name"
    " FROM participants p JOIN conversations c ON c.id = p.conversation_id"
    " WHERE p.customer_id = $1 AND p.type = $2 AND p.target = $3 AND p.tm_delete IS NULL"
    " AND c.tm_delete IS NULL AND c.status <> 'closed'"
    " ORDER BY c.tm_activity DESC LIMIT 1"
    " FOR UPDATE OF c"
)


async def _matching_room(
    customer_id: str, ptype: ParticipantType, peer: str
) -> tuple[Any, dict[str, Any] | None]:
    """The open room this address belongs to (locked), and its participant there."""
    row = await connection().fetchrow(_MATCH, customer_id, ptype.value, peer)
    if row is None:
        return None, None
    participant = {
        "id": row["p_id"],
        "type": row["p_type"],
        "target": row["p_target"],
        "target_name": row["p_target_name"],
        "name": row["p_name"],
    }
    return row, participant


# --- outbound -----------------------------------------------------------------------


async def send_message(
    principal: Principal, conversation_id: str, data: MessageCreate
) -> MessageOut:
    if not data.text.strip() and not data.medias:
        raise InvalidInput("empty_message", "A message needs text or at least one media.")
    medias = [msgspec.to_builtins(m) for m in data.medias]
    async with transaction():
        room = await conversations.get_room(principal, conversation_id, lock=True)
        participant, account = await _route(principal.customer_id, room, data)
        stamp = now()
        row = await _insert_message(
            room, participant, account, Direction.OUTBOUND, data.text, medias, stamp
        )
        await connection().execute(
            "INSERT INTO outbound_messages (customer_id, message_id, account_id, status,"
            " attempts, next_try_at, last_error, tm_create, tm_update)"
            " VALUES ($1, $2, $3, 'queued', 0, $4, '', $4, $4)",
            principal.customer_id,
            row["id"],
            account["id"],
            stamp,
        )
        room = await _after_message(room, data.text, medias, stamp)
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_CREATED, out, room)
    return out


class _Routing(msgspec.Struct):
    peers: list[Any]
    """Live peer participants, the one who wrote last first, then the room's original
    peer, then the others in the order they joined."""
    accounts: list[dict[str, Any]]


async def _routing(room: Any) -> _Routing:
    people = await sql.fetch(
        "SELECT * FROM participants WHERE conversation_id = $1 AND tm_delete IS NULL"
        " ORDER BY tm_create",
        room["id"],
    )
    peers = [
        p
        for p in people
        if p["target_name"] != conversations.ME and p["type"] != ParticipantType.AGENT.value
    ]
    last = await sql.fetchval(
        "SELECT participant_id FROM messages WHERE conversation_id = $1"
        " AND direction = 'inbound' ORDER BY tm_create DESC LIMIT 1",
        room["id"],
    )

    def rank(item: tuple[int, Any]) -> tuple[int, int]:
        index, p = item
        if last is not None and p["id"] == last:
            return (0, 0)
        if p["target"] == room["reference_id"]:
            return (1, 0)
        return (2, index)

    ordered = [p for _, p in sorted(enumerate(peers), key=rank)]
    return _Routing(peers=ordered, accounts=await accounts.live_accounts(str(room["customer_id"])))


async def _route(customer_id: str, room: Any, data: MessageCreate) -> tuple[Any, dict[str, Any]]:
    """Which participant, on which channel account, a reply goes to."""
    facts = await _routing(room)
    need_media = bool(data.medias)
    if data.participant_id:
        wanted = parse_id(data.participant_id, "participant_not_found", "participant")
        chosen = [p for p in facts.peers if str(p["id"]) == wanted]
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


async def reply_targets(room: Any) -> list[ReplyTarget]:
    """Where a reply can go, the default (who wrote last) first: the desk's channel picker."""
    facts = await _routing(room)
    targets = []
    for participant in facts.peers:
        account = await _account_for(facts, room, participant, need_media=False)
        if account is not None:
            targets.append(
                ReplyTarget(
                    participant_id=str(participant["id"]),
                    type=participant["type"],
                    target=participant["target"],
                    target_name=participant["target_name"],
                    reference_type=accounts.reference_of(account).value,
                    carries_media=accounts.carries_media(account),
                )
            )
    return targets


async def _account_for(
    facts: _Routing, room: Any, participant: Any, *, need_media: bool
) -> dict[str, Any] | None:
    """The account to reach `participant` on: the one it last used, else the room's, else
    the customer's first account of that channel; None if none fits."""
    wanted = ParticipantType(participant["type"])
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
    used = await sql.fetchval(
        "SELECT account_id FROM messages WHERE conversation_id = $1 AND participant_id = $2"
        " AND account_id IS NOT NULL ORDER BY tm_create DESC LIMIT 1",
        room["id"],
        participant["id"],
    )
    prefer = [str(used)] if used else []
    if room["account_id"]:
        prefer.append(str(room["account_id"]))
    for account_id in prefer:
        for account in fitting:
            if str(account["id"]) == account_id:
                return account
    return fitting[0]


# --- history ------------------------------------------------------------------------


async def list_messages(
    principal: Principal, conversation_id: str, page_size: int = 100, page_token: str | None = None
) -> tuple[list[MessageOut], str]:
    room = await conversations.get_room(principal, conversation_id)
    rows, token = await keyset_page(
        Message,
        [Message.conversation_id == room["id"], Message.tm_delete.is_null()],
        page_size,
        page_token,
    )
    return [message_out(r) for r in rows], token


async def retry(principal: Principal, message_id: str) -> MessageOut:
    """Send a failed outbound message again (an agent's explicit retry): it goes back to
    progressing and into the queue."""
    message_id = parse_id(message_id, "message_not_found", "message")
    async with transaction():
        row = (
            await Message.select()
            .where(Message.id == message_id, Message.customer_id == principal.customer_id)
            .lock_rows("UPDATE")
            .first()
        )
        if row is None:
            raise NotFound("message_not_found", "There is no such message.")
        room = await conversations.get_room(principal, str(row["conversation_id"]))
        if (
            row["direction"] != Direction.OUTBOUND.value
            or row["status"] != MessageStatus.FAILED.value
        ):
            raise Conflict("not_retryable", "Only a failed outbound message can be sent again.")
        stamp = now()
        row = (
            await Message.update(
                {
                    Message.status: MessageStatus.PROGRESSING.value,
                    Message.error: None,
                    Message.tm_update: stamp,
                }
            )
            .where(Message.id == row["id"])
            .returning(*Message.all_columns())
        )[0]
        await OutboundMessage.update(
            {
                OutboundMessage.status: "queued",
                OutboundMessage.attempts: 0,
                OutboundMessage.next_try_at: stamp,
                OutboundMessage.lease_until: None,
                OutboundMessage.last_error: "",
                OutboundMessage.tm_update: stamp,
            }
        ).where(OutboundMessage.message_id == row["id"])
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, room)
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
        conn = connection()
        row = await conn.fetchrow("SELECT * FROM messages WHERE id = $1 FOR UPDATE", message_id)
        if row is None or not _moves_forward(row["status"], status):
            return None
        row = await conn.fetchrow(
            "UPDATE messages SET status = $2, tm_update = $3,"
            " provider_message_id = CASE WHEN $4 = '' THEN provider_message_id ELSE $4 END,"
            " error = CASE WHEN $5::text IS NULL THEN error ELSE $5 END"
            " WHERE id = $1 RETURNING *",
            row["id"],
            status.value,
            now(),
            provider_message_id,
            error,
        )
        room = await conn.fetchrow(
            "SELECT owner_id FROM conversations WHERE id = $1", row["conversation_id"]
        )
        out = message_out(row)
        await _message_event(EventType.CONVERSATION_MESSAGE_UPDATED, out, room)
        if status is MessageStatus.DONE:
            await _message_event(EventType.CONVERSATION_MESSAGE_SENT, out, room)
    return out


_STATUS_LOCK = 0x0C0DE7  # pg_advisory_xact_lock namespace for (account, provider id)


async def _lock_provider_id(account_id: Any, provider_message_id: str) -> None:
    await connection().execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        _STATUS_LOCK,
        f"{account_id}|{provider_message_id}",
    )


async def provider_status(account: dict[str, Any], update: StatusUpdate) -> MessageOut | None:
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
        await _lock_provider_id(account["id"], update.provider_message_id)
        message_id = await connection().fetchval(
            "SELECT id FROM messages WHERE account_id = $1 AND provider_message_id <> ''"
            " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2"
            " AND direction = 'outbound'",
            account["id"],
            update.provider_message_id,
        )
        if message_id is None:
            await connection().execute(
                "INSERT INTO early_statuses (account_id, provider_message_id, status, error,"
                " tm_create) VALUES ($1, $2, $3, $4, $5)",
                account["id"],
                update.provider_message_id,
                update.status.value,
                update.error,
                now(),
            )
            return None
        return await record_outcome(str(message_id), status=update.status, error=update.error)


async def remember_provider_id(
    message_id: str, account_id: str, provider_message_id: str, *, stored: bool = False
) -> None:
    """The provider took the message under this id (already written when `stored`), to
    match its later status callbacks; any status that raced ahead of this is applied now.
    Runs in the caller's transaction."""
    await _lock_provider_id(uuid.UUID(account_id), provider_message_id)
    if not stored:
        await connection().execute(
            "UPDATE messages SET provider_message_id = $2, tm_update = $3 WHERE id = $1",
            message_id,
            provider_message_id,
            now(),
        )
    early = await connection().fetch(
        "DELETE FROM early_statuses WHERE account_id = $1"
        " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2"
        " RETURNING status, error",
        uuid.UUID(account_id),
        provider_message_id,
    )
    for row in early:
        await record_outcome(message_id, status=MessageStatus(row["status"]), error=row["error"])


EARLY_STATUS_TTL = timedelta(days=1)


async def forget_early_statuses() -> int:
    """Drop early statuses nothing claimed within a day (a status for a message part we
    never stored the id of, e.g. the second of a multi-part WhatsApp reply)."""
    done = await sql.execute(
        "DELETE FROM early_statuses WHERE tm_create < $1", now() - EARLY_STATUS_TTL
    )
    return int(done.split()[-1])


_RANK = {
    MessageStatus.PROGRESSING.value: 0,
    MessageStatus.DONE.value: 1,
    MessageStatus.FAILED.value: 2,
}


def _moves_forward(current: str, new: MessageStatus) -> bool:
    return _RANK[new.value] > _RANK[current]
