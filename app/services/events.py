"""Service transactions and the event stream.

    async with transaction():
        ...write rows...
        await record_event(customer_id, "conversation_created", payload, topics)

`record_event` inserts the event row in the caller's transaction; when the transaction
commits, `transaction()` announces the new event ids on the live bus. If it rolls back,
the event never existed and nothing is announced.

Ordering: readers resume "after event id N", so ids must become visible in id order.
A sequence alone does not promise that (a transaction can take id 5, then commit after
the one that took id 6). `record_event` therefore takes a per-customer advisory lock that
is held until commit before it draws an id: within one customer, events commit in id
order. Record events last in a transaction to keep that lock short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import msgspec

from app.db.piccolo_conf import DB
from app.db.tables import Event
from app.domain.timefmt import now
from app.realtime import bus

_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("pending_events", default=None)

# Namespace for pg_advisory_xact_lock(int, int): the first int says "event ordering".
_EVENT_LOCK_CLASS = 0x0C0DE5


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A database transaction whose recorded events are announced after commit.
    Nested use joins the outer transaction (and its announcement)."""
    if _pending.get() is not None:
        yield
        return
    pending: list[dict[str, Any]] = []
    token = _pending.set(pending)
    try:
        async with DB.transaction():
            yield
    finally:
        _pending.reset(token)
    # Reached only when the transaction committed.
    await bus.announce(pending)


async def record_event(
    customer_id: str,
    type: str,
    payload: dict[str, Any] | msgspec.Struct,
    topics: Iterable[str] = (),
    audience: Iterable[str] = (),
) -> int:
    """Insert an event in the current service transaction and return its id.

    `audience`: empty when every agent of the customer may see the event; otherwise the
    agents who may (admins and managers always may)."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("record_event() must be called inside services.events.transaction()")
    body = msgspec.json.encode(payload).decode()
    await Event.raw(
        "SELECT pg_advisory_xact_lock({}, hashtext({}))", _EVENT_LOCK_CLASS, str(customer_id)
    )
    tm_create: datetime = now()
    rows = await Event.raw(
        "INSERT INTO events (customer_id, type, topics, payload, audience, tm_create) "
        "VALUES ({}, {}, {}, {}::json, {}::uuid[], {}) RETURNING id",
        customer_id,
        type,
        list(topics),
        body,
        sorted({str(a) for a in audience}),
        tm_create,
    )
    event_id = rows[0]["id"]
    pending.append({"id": event_id, "customer_id": str(customer_id), "type": type})
    return event_id


class StoredEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An event as readers see it."""

    id: int
    customer_id: str
    type: str
    topics: list[str]
    audience: list[str]
    tm_create: datetime
    payload: msgspec.Raw
    """The resource exactly as the API returns it, still encoded: readers forward it."""


async def events_after(customer_id: str, after_id: int, limit: int = 500) -> list[StoredEvent]:
    """Committed events of one customer with id > after_id, oldest first."""
    rows = await Event.raw(
        "SELECT id, customer_id, type, topics, audience, tm_create, payload::text AS payload"
        " FROM events WHERE customer_id = {} AND id > {} ORDER BY id LIMIT {}",
        customer_id,
        after_id,
        limit,
    )
    return [
        StoredEvent(
            id=r["id"],
            customer_id=str(r["customer_id"]),
            type=r["type"],
            topics=list(r["topics"]),
            audience=[str(a) for a in r["audience"]],
            tm_create=r["tm_create"],
            payload=msgspec.Raw(r["payload"].encode()),
        )
        for r in rows
    ]


async def last_event_id(customer_id: str) -> int:
    rows = await Event.raw(
        "SELECT coalesce(max(id), 0) AS id FROM events WHERE customer_id = {}", customer_id
    )
    return rows[0]["id"]


class EventBody(msgspec.Struct, kw_only=True):
    """The webhook body, and the API websocket frame: the resource rides along as stored."""

    id: str
    type: str
    tm_create: str
    data: msgspec.Raw


def event_body(event: StoredEvent) -> bytes:
    from app.domain.timefmt import fmt

    return msgspec.json.encode(
        EventBody(
            id=str(event.id), type=event.type, tm_create=fmt(event.tm_create), data=event.payload
        )
    )
