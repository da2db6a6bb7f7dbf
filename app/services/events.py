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
) -> int:
    """Insert an event in the current service transaction and return its id."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("record_event() must be called inside services.events.transaction()")
    body = msgspec.json.encode(payload).decode()
    await Event.raw(
        "SELECT pg_advisory_xact_lock({}, hashtext({}))", _EVENT_LOCK_CLASS, str(customer_id)
    )
    tm_create: datetime = now()
    rows = await Event.raw(
        "INSERT INTO events (customer_id, type, topics, payload, tm_create) "
        "VALUES ({}, {}, {}, {}::jsonb, {}) RETURNING id",
        customer_id,
        type,
        list(topics),
        body,
        tm_create,
    )
    event_id = rows[0]["id"]
    pending.append({"id": event_id, "customer_id": str(customer_id), "type": type})
    return event_id
