"""Messages as stored: `messages`, the send queue (`outbound_messages`), the statuses that
raced ahead of their message (`early_statuses`) and the rejected-inbound log. Every query
on those tables lives here and returns Structs.

What every inbound message, send and delivery status goes through is plain SQL on
asyncpg, on the caller's transaction (`events.connection()`) or through app/db/sql.py:
the query builder costs several times the CPU of these statements (docs/PERFORMANCE.md).
Claiming the send queue (`FOR UPDATE SKIP LOCKED` inside an `UPDATE`) is plain SQL because
the builder cannot say it. Lists, history and the occasional write use the builder.
docs/ARCHITECTURE.md, "Raw SQL, and why", lists the plain statements.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from app.core.events import connection
from app.core.pagination import keyset_page
from app.db import sql
from app.db.tables import EarlyStatus, Message, OutboundMessage, RejectedInbound
from app.domain.resources import Address, Media


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    """A `messages` row, its JSONB columns decoded."""

    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    participant_id: uuid.UUID | None
    account_id: uuid.UUID | None
    direction: str
    status: str
    reference_type: str
    reference_id: str
    source: Address
    destination: Address
    text: str
    medias: list[Media]
    error: str | None
    provider_message_id: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None
    agent_id: uuid.UUID | None = None
    scheduled_at: datetime | None = None


_FIELDS = MessageRow.__struct_fields__
_COLUMNS = ", ".join(_FIELDS)
_JSONB = {"source": Address, "destination": Address, "medias": list[Media]}


def _decoded(value: Any, kind: Any) -> Any:
    # asyncpg and the query builder both hand JSONB back as text
    if isinstance(value, str):
        return msgspec.json.decode(value, type=kind)
    return msgspec.convert(value, kind)


def _row(record: Any) -> MessageRow:
    values = {f: record[f] for f in _FIELDS}
    for name, kind in _JSONB.items():
        values[name] = _decoded(values[name], kind)
    return MessageRow(**values)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# --- the inbound and sending paths (plain SQL, in the caller's transaction) -----------------

_ADDRESS_LOCK = 0x0C0DE6  # namespace of pg_advisory_xact_lock(int, int); fits int4
_STATUS_LOCK = 0x0C0DE7  # the same for (account, provider id)


async def lock_address(customer_id: str, ptype: str, target: str) -> None:
    """Until the transaction ends, nobody else handles what arrives from this address."""
    await connection().execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        _ADDRESS_LOCK,
        f"{customer_id}|{ptype}|{target}",
    )


async def lock_provider_id(account_id: uuid.UUID, provider_message_id: str) -> None:
    """Until the transaction ends, nobody else records a status or the id for this
    provider id on the account (a status callback can race the send's response)."""
    await connection().execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        _STATUS_LOCK,
        f"{account_id}|{provider_message_id}",
    )


async def insert(
    *,
    customer_id: uuid.UUID,
    conversation_id: uuid.UUID,
    participant_id: uuid.UUID,
    account_id: uuid.UUID,
    direction: str,
    status: str,
    reference_type: str,
    reference_id: str,
    source: Address,
    destination: Address,
    text: str,
    medias: list[Any],
    provider_message_id: str,
    at: datetime,
    agent_id: str | None = None,
    scheduled_at: datetime | None = None,
) -> MessageRow:
    """A scheduled message is stored at its due time (`tm_create` = `scheduled_at`): it
    sorts where it will be sent, and moves to the time it actually goes out."""
    record = await connection().fetchrow(
        "INSERT INTO messages (id, customer_id, conversation_id, participant_id, account_id,"
        " direction, status, reference_type, reference_id, source, destination, text, medias,"
        " provider_message_id, tm_create, tm_update, agent_id, scheduled_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13::jsonb,"
        " $14, coalesce($17::timestamptz, $15), $15, $16::uuid, $17::timestamptz)"
        f" RETURNING {_COLUMNS}",
        uuid.uuid4(),
        customer_id,
        conversation_id,
        participant_id,
        account_id,
        direction,
        status,
        reference_type,
        reference_id,
        _json(source),
        _json(destination),
        text,
        _json(medias),
        provider_message_id,
        at,
        agent_id,
        scheduled_at,
    )
    return _row(record)


async def by_provider_id(account_id: uuid.UUID, provider_message_id: str) -> MessageRow | None:
    """The message stored under this provider id on the account (its index is on the md5;
    the id itself is compared too, so a hash collision never matches)."""
    record = await connection().fetchrow(
        f"SELECT {_COLUMNS} FROM messages WHERE account_id = $1 AND provider_message_id <> ''"
        " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2",
        account_id,
        provider_message_id,
    )
    return _row(record) if record is not None else None


async def room_answered(customer_id: str, references: list[str]) -> uuid.UUID | None:
    """The room of the first message, in the order given, that one of these provider ids
    names (an email's In-Reply-To, then References)."""
    return await connection().fetchval(
        "SELECT m.conversation_id FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n)"
        " JOIN messages m ON m.customer_id = $1 AND m.provider_message_id <> ''"
        " AND md5(m.provider_message_id) = md5(r.id) AND m.provider_message_id = r.id"
        " ORDER BY r.n, m.tm_create DESC LIMIT 1",
        customer_id,
        references,
    )


async def last_inbound_participant(room_id: uuid.UUID) -> uuid.UUID | None:
    """Who wrote last in the room."""
    return await sql.fetchval(
        "SELECT participant_id FROM messages WHERE conversation_id = $1"
        " AND direction = 'inbound' ORDER BY tm_create DESC LIMIT 1",
        room_id,
    )


class LastInbound(msgspec.Struct, frozen=True, kw_only=True):
    """Who wrote last in a room, and on which account: where its survey goes."""

    participant_id: uuid.UUID
    account_id: uuid.UUID
    type: str
    target: str
    contact_id: uuid.UUID | None


async def last_inbound(room_id: uuid.UUID) -> LastInbound | None:
    """The room's latest inbound message from a participant still in it."""
    return await sql.fetchrow_as(
        LastInbound,
        "SELECT m.participant_id, m.account_id, p.type, p.target, p.contact_id"
        " FROM messages m JOIN participants p ON p.id = m.participant_id"
        " WHERE m.conversation_id = $1 AND m.direction = 'inbound'"
        " AND m.account_id IS NOT NULL AND p.tm_delete IS NULL"
        " ORDER BY m.tm_create DESC LIMIT 1",
        room_id,
    )


async def last_account_of(room_id: uuid.UUID, participant_id: uuid.UUID) -> uuid.UUID | None:
    """The account the room's latest message with this participant went over."""
    return await sql.fetchval(
        "SELECT account_id FROM messages WHERE conversation_id = $1 AND participant_id = $2"
        " AND account_id IS NOT NULL ORDER BY tm_create DESC LIMIT 1",
        room_id,
        participant_id,
    )


async def lock(message_id: str) -> MessageRow | None:
    record = await connection().fetchrow(
        f"SELECT {_COLUMNS} FROM messages WHERE id = $1 FOR UPDATE", message_id
    )
    return _row(record) if record is not None else None


async def set_outcome(
    message_id: uuid.UUID, status: str, provider_message_id: str, error: str | None, at: datetime
) -> MessageRow:
    """A new status; the provider id and the error only when given ("" and None keep
    what is stored)."""
    record = await connection().fetchrow(
        "UPDATE messages SET status = $2, tm_update = $3,"
        " provider_message_id = CASE WHEN $4 = '' THEN provider_message_id ELSE $4 END,"
        " error = CASE WHEN $5::text IS NULL THEN error ELSE $5 END"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        message_id,
        status,
        at,
        provider_message_id,
        error,
    )
    return _row(record)


async def set_provider_id(message_id: str, provider_message_id: str, at: datetime) -> None:
    await connection().execute(
        "UPDATE messages SET provider_message_id = $2, tm_update = $3 WHERE id = $1",
        message_id,
        provider_message_id,
        at,
    )


async def outbound_by_provider_id(
    account_id: uuid.UUID, provider_message_id: str
) -> uuid.UUID | None:
    return await connection().fetchval(
        "SELECT id FROM messages WHERE account_id = $1 AND provider_message_id <> ''"
        " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2"
        " AND direction = 'outbound'",
        account_id,
        provider_message_id,
    )


async def by_id(message_id: str) -> MessageRow | None:
    record = await sql.fetchrow(f"SELECT {_COLUMNS} FROM messages WHERE id = $1", message_id)
    return _row(record) if record is not None else None


async def earlier_provider_ids(message: MessageRow, limit: int) -> list[str]:
    """The provider ids of the room's messages on the same account before this one, newest
    first (the last `limit`)."""
    records = await sql.fetch(
        "SELECT provider_message_id FROM messages WHERE conversation_id = $1"
        " AND account_id = $2 AND provider_message_id <> '' AND tm_create <= $3 AND id <> $4"
        " ORDER BY tm_create DESC LIMIT $5",
        message.conversation_id,
        message.account_id,
        message.tm_create,
        message.id,
        limit,
    )
    return [r["provider_message_id"] for r in records]


# --- early statuses ---------------------------------------------------------------------------


class EarlyStatusRow(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    error: str | None


async def keep_early_status(
    account_id: uuid.UUID, provider_message_id: str, status: str, error: str | None, at: datetime
) -> None:
    await connection().execute(
        "INSERT INTO early_statuses (account_id, provider_message_id, status, error,"
        " tm_create) VALUES ($1, $2, $3, $4, $5)",
        account_id,
        provider_message_id,
        status,
        error,
        at,
    )


async def take_early_statuses(
    account_id: uuid.UUID, provider_message_id: str
) -> list[EarlyStatusRow]:
    """Remove and return the statuses kept for this provider id."""
    records = await connection().fetch(
        "DELETE FROM early_statuses WHERE account_id = $1"
        " AND md5(provider_message_id) = md5($2) AND provider_message_id = $2"
        " RETURNING status, error",
        account_id,
        provider_message_id,
    )
    return [EarlyStatusRow(status=r["status"], error=r["error"]) for r in records]


async def forget_early_statuses(before: datetime) -> int:
    """Drop the early statuses kept since before `before`; how many."""
    rows = (
        await EarlyStatus.delete().where(EarlyStatus.tm_create < before).returning(EarlyStatus.id)
    )
    return len(rows)


# --- the send queue ----------------------------------------------------------------------------


class Claimed(msgspec.Struct, kw_only=True):
    """A queued message leased to this sender."""

    queue_id: int
    message_id: str
    account_id: str
    attempts: int


async def enqueue(
    customer_id: str,
    message_id: uuid.UUID,
    account_id: uuid.UUID,
    at: datetime,
    due: datetime | None = None,
) -> None:
    """Into the send queue, due now or at `due` (a scheduled message)."""
    await connection().execute(
        "INSERT INTO outbound_messages (customer_id, message_id, account_id, status,"
        " attempts, next_try_at, last_error, tm_create, tm_update)"
        " VALUES ($1, $2, $3, 'queued', 0, coalesce($5::timestamptz, $4), '', $4, $4)",
        customer_id,
        message_id,
        account_id,
        at,
        due,
    )


async def claim_due(at: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
    """Lease up to `limit` due messages: queued ones whose time has come, and ones whose
    sender's lease ran out. SKIP LOCKED: senders never wait for each other."""
    records = await sql.fetch(
        "UPDATE outbound_messages SET status = 'sending', attempts = attempts + 1,"
        " lease_until = $1, tm_update = $2"
        " WHERE id IN (SELECT id FROM outbound_messages"
        "   WHERE (status = 'queued' AND next_try_at <= $2)"
        "      OR (status = 'sending' AND lease_until < $2)"
        "   ORDER BY next_try_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, message_id, account_id, attempts",
        lease_until,
        at,
        limit,
    )
    return [
        Claimed(
            queue_id=r["id"],
            message_id=str(r["message_id"]),
            account_id=str(r["account_id"]),
            attempts=r["attempts"],
        )
        for r in records
    ]


async def finish(queue_id: int, status: str, reason: str, at: datetime) -> None:
    await connection().execute(
        "UPDATE outbound_messages SET status = $2, last_error = $3, tm_update = $4 WHERE id = $1",
        queue_id,
        status,
        reason,
        at,
    )


async def retry_at(queue_id: int, reason: str, next_try_at: datetime, at: datetime) -> None:
    """Back in the queue, due at `next_try_at`."""
    await OutboundMessage.update(
        {
            OutboundMessage.status: "queued",
            OutboundMessage.last_error: reason,
            OutboundMessage.next_try_at: next_try_at,
            OutboundMessage.lease_until: None,
            OutboundMessage.tm_update: at,
        }
    ).where(OutboundMessage.id == queue_id)


async def requeue(message_id: uuid.UUID, at: datetime) -> None:
    """A fresh start in the queue: attempts from zero, due now."""
    await OutboundMessage.update(
        {
            OutboundMessage.status: "queued",
            OutboundMessage.attempts: 0,
            OutboundMessage.next_try_at: at,
            OutboundMessage.lease_until: None,
            OutboundMessage.last_error: "",
            OutboundMessage.tm_update: at,
        }
    ).where(OutboundMessage.message_id == message_id)


# --- history and retries (query builder) -------------------------------------------------------


async def page_of_room(
    room_id: uuid.UUID, page_size: int, page_token: str | None
) -> tuple[list[MessageRow], str]:
    """The room's live messages, newest first (see core.pagination)."""
    rows, token = await keyset_page(
        Message,
        [Message.conversation_id == room_id, Message.tm_delete.is_null()],
        page_size,
        page_token,
    )
    return [_row(r) for r in rows], token


async def before_in_room(
    room_id: uuid.UUID, until: datetime | None, limit: int
) -> list[MessageRow]:
    """The room's live messages created before `until` (or the latest), newest first."""
    query = Message.select().where(Message.conversation_id == room_id, Message.tm_delete.is_null())
    if until is not None:
        query = query.where(Message.tm_create < until)
    rows = await query.order_by(Message.tm_create, ascending=False).limit(limit)
    return [_row(r) for r in rows]


async def lock_of_customer(customer_id: str, message_id: str) -> MessageRow | None:
    row = (
        await Message.select()
        .where(Message.id == message_id, Message.customer_id == customer_id)
        .lock_rows("UPDATE")
        .first()
    )
    return _row(row) if row is not None else None


async def set_progressing(message_id: uuid.UUID, at: datetime) -> MessageRow:
    """Back to progressing, its error cleared (an agent's retry)."""
    rows = (
        await Message.update(
            {Message.status: "progressing", Message.error: None, Message.tm_update: at}
        )
        .where(Message.id == message_id)
        .returning(*Message.all_columns())
    )
    return _row(rows[0])


async def latest_with_address(
    room_ids: list[str], reference_type: str, reference_id: str, limit: int
) -> list[MessageRow]:
    """The latest live messages to or from one address on one channel in these rooms,
    newest first."""
    rows = await (
        Message.select()
        .where(
            Message.conversation_id.is_in(room_ids),
            Message.reference_type == reference_type,
            Message.reference_id == reference_id,
            Message.tm_delete.is_null(),
        )
        .order_by(Message.tm_create, ascending=False)
        .order_by(Message.id, ascending=False)
        .limit(limit)
    )
    return [_row(r) for r in rows]


# --- the rejected-inbound log -------------------------------------------------------------------


class RejectedRow(msgspec.Struct, frozen=True, kw_only=True):
    """A `rejected_inbound` row."""

    id: uuid.UUID
    customer_id: uuid.UUID
    account_id: uuid.UUID
    provider_event_id: str
    reason: str
    excerpt: str
    tm_create: datetime


async def keep_rejected(
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    provider_event_id: str,
    reason: str,
    excerpt: str,
    at: datetime,
) -> None:
    """Once per (account, provider event id): a unique index on the md5 of the id makes a
    second one do nothing."""
    await RejectedInbound.insert(
        RejectedInbound(
            customer_id=customer_id,
            account_id=account_id,
            provider_event_id=provider_event_id,
            reason=reason,
            excerpt=excerpt,
            tm_create=at,
        )
    ).on_conflict(action="DO NOTHING")


async def rejected_page(
    customer_id: str, account_id: uuid.UUID, page_size: int, page_token: str | None
) -> tuple[list[RejectedRow], str]:
    """Newest first (see core.pagination)."""
    rows, token = await keyset_page(
        RejectedInbound,
        [RejectedInbound.account_id == account_id, RejectedInbound.customer_id == customer_id],
        page_size,
        page_token,
    )
    return [RejectedRow(**{f: r[f] for f in RejectedRow.__struct_fields__}) for r in rows], token


# --- scheduled messages and the stale-reply check ------------------------------


async def lock_in_room(room_id: uuid.UUID, message_id: str) -> MessageRow | None:
    """The room's message, locked (the caller holds the room's lock first: rooms, then
    messages, as everywhere)."""
    record = await connection().fetchrow(
        f"SELECT {_COLUMNS} FROM messages WHERE id = $1 AND conversation_id = $2"
        " AND tm_delete IS NULL FOR UPDATE",
        message_id,
        room_id,
    )
    return _row(record) if record is not None else None


async def reschedule(message_id: uuid.UUID, text: str, due: datetime, at: datetime) -> MessageRow:
    """A scheduled message's new text and time, and its queue row due then (back to
    `queued` with a fresh count, even when a sender holds a lease on it: that sender
    finds it not yet due and leaves it)."""
    record = await connection().fetchrow(
        "UPDATE messages SET text = $2, scheduled_at = $3, tm_create = $3, tm_update = $4"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        message_id,
        text,
        due,
        at,
    )
    await connection().execute(
        "UPDATE outbound_messages SET status = 'queued', attempts = 0, next_try_at = $2,"
        " lease_until = NULL, tm_update = $3 WHERE message_id = $1",
        message_id,
        due,
        at,
    )
    return _row(record)


async def cancel(message_id: uuid.UUID, at: datetime) -> MessageRow:
    """Status `canceled`, and out of the send queue (a sender holding a lease on the row
    finds the message canceled and sends nothing)."""
    record = await connection().fetchrow(
        "UPDATE messages SET status = 'canceled', tm_update = $2"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        message_id,
        at,
    )
    await connection().execute("DELETE FROM outbound_messages WHERE message_id = $1", message_id)
    return _row(record)


async def start_scheduled(message_id: uuid.UUID, at: datetime) -> MessageRow:
    """A due scheduled message becomes an ordinary reply going out now: progressing, and
    placed in the room's history at this time."""
    record = await connection().fetchrow(
        "UPDATE messages SET status = 'progressing', tm_create = $2, tm_update = $2"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        message_id,
        at,
    )
    return _row(record)


async def not_yet_due(queue_id: int, due: datetime, at: datetime) -> None:
    """Back in the queue until `due` (claimed early: the time was moved, or clocks differ)."""
    await connection().execute(
        "UPDATE outbound_messages SET status = 'queued', attempts = 0, next_try_at = $2,"
        " lease_until = NULL, tm_update = $3 WHERE id = $1",
        queue_id,
        due,
        at,
    )


class Newer(msgspec.Struct, frozen=True, kw_only=True):
    """The newest message that makes a reply stale."""

    direction: str
    agent_id: uuid.UUID | None
    source_name: str
    tm_create: datetime


async def newer_than(room_id: uuid.UUID, since: datetime, agent_id: str | None) -> Newer | None:
    """The room's newest message after `since` written by the customer, or sent by anyone
    but `agent_id` (another agent, or an access key); scheduled and canceled ones do not
    count. Reads the (conversation_id, tm_create) index from `since` on."""
    record = await connection().fetchrow(
        "SELECT direction, agent_id, source->>'target_name' AS source_name, tm_create"
        " FROM messages WHERE conversation_id = $1 AND tm_create > $2 AND tm_delete IS NULL"
        " AND status NOT IN ('scheduled', 'canceled')"
        " AND (direction = 'inbound' OR agent_id IS DISTINCT FROM $3::uuid)"
        " ORDER BY tm_create DESC LIMIT 1",
        room_id,
        since,
        agent_id,
    )
    if record is None:
        return None
    return Newer(
        direction=record["direction"],
        agent_id=record["agent_id"],
        source_name=record["source_name"] or "",
        tm_create=record["tm_create"],
    )


async def of_room(
    room_id: uuid.UUID,
    *,
    before: datetime | None = None,
    at: datetime | None = None,
    limit: int = 101,
) -> list[MessageRow]:
    """The room's live messages created before `before` (or exactly `at`), newest first:
    one side of `GET …/messages?include=`."""
    query = Message.select().where(Message.conversation_id == room_id, Message.tm_delete.is_null())
    if before is not None:
        query = query.where(Message.tm_create < before)
    if at is not None:
        query = query.where(Message.tm_create == at)
    rows = (
        await query.order_by(Message.tm_create, ascending=False)
        .order_by(Message.id, ascending=False)
        .limit(limit)
    )
    return [_row(r) for r in rows]
