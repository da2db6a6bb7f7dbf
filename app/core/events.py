"""Service transactions and the event stream.

    async with transaction():
        ...write rows...
        await record_event(customer_id, EventType.CONVERSATION_CREATED, payload, topics)

`record_event` queues the event in the caller's transaction; just before the transaction
commits, `transaction()` writes the queued events in one statement, and once it has
committed it announces their ids on the live bus. If it rolls back, the events never
existed and nothing is announced.

Ordering: readers resume "after event id N", so they must never read past an id that is
still to commit. A sequence alone does not promise that (a transaction can take id 5, then
commit after the one that took id 6). Writers draw their ids under a per-customer advisory
lock taken in SHARED mode and held to commit, so a customer's transactions never wait for
each other and commit in any order. Readers read only up to the customer's *horizon*
(`horizons()`, the SQL function `event_horizon` of migration 0037): the largest id below
which every id drawn is committed or gone. It takes the same lock in exclusive mode for
an instant, which waits at most for the transactions holding ids right now (one INSERT
and a COMMIT each: the events are written last). `tests/test_event_order.py` commits out
of order on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from app.core import bus
from app.db import sql
from app.db.piccolo_conf import DB
from app.domain.enums import EventType
from app.domain.timefmt import fmt, now


class Pending(msgspec.Struct):
    customer_id: str
    type: str
    payload: str
    topics: list[str]
    audience: list[str]
    tm_create: datetime
    depth: int = 0
    """How many rule runs led to this event (0: a person, a channel or a timer made the
    change): app/automation's loop protection."""


BeforeCommit = Callable[[list[Pending]], Awaitable[None]]
_before_commit: list[BeforeCommit] = []
_depth: ContextVar[int] = ContextVar("event_depth", default=0)


def before_commit(hook: BeforeCommit) -> None:
    """Run `hook` in every service transaction that recorded events, just before they
    are written, with the queued events; the events it records are appended to that list
    (it sees them too). Automation runs rules there, in the transaction of the change
    that triggered them, and the core does not import the features it serves."""
    if hook not in _before_commit:
        _before_commit.append(hook)


@contextmanager
def at_depth(depth: int) -> Iterator[None]:
    """Events recorded inside this block are `depth` deep (see `Pending.depth`)."""
    token = _depth.set(depth)
    try:
        yield
    finally:
        _depth.reset(token)


_pending: ContextVar[list[Pending] | None] = ContextVar("pending_events", default=None)

LastWrite = Callable[[], Awaitable[None]]
_last: ContextVar[list[LastWrite] | None] = ContextVar("last_writes", default=None)


def outermost() -> bool:
    """Whether no service transaction is open here: a `transaction()` opened now is the
    caller's own, committed (or rolled back) when its block ends."""
    return _pending.get() is None


def write_last(write: LastWrite) -> None:
    """Run `write` at the end of the current service transaction, after the before-commit
    hooks and just before its events: for the UPDATE of a row that many transactions
    touch at once (a busy room's summary), whose lock is then held only for the events'
    INSERT and the COMMIT. If it raises, the whole transaction rolls back and the
    exception leaves `transaction()`: a caller that writes last must own the transaction
    (`outermost()`) to handle it."""
    last = _last.get()
    if last is None:
        raise RuntimeError("write_last() must be called inside core.events.transaction()")
    last.append(write)


# Namespace for pg_advisory_xact_lock(int, int): the first int says "event ordering".
_EVENT_LOCK_CLASS = 0x0C0DE5


def connection() -> asyncpg.Connection:
    """The asyncpg connection of the current service transaction, for hot paths that
    run SQL directly (Piccolo's query builder costs more CPU than the query itself)."""
    current = DB.current_transaction.get()
    if current is None:
        raise RuntimeError("no service transaction is open")
    return current.connection


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A database transaction whose recorded events are written at its end and announced
    after it commits. Nested use joins the outer transaction (and its announcement)."""
    if _pending.get() is not None:
        yield
        return
    pending: list[Pending] = []
    last: list[LastWrite] = []
    token = _pending.set(pending)
    last_token = _last.set(last)
    notices: list[dict[str, Any]] = []
    try:
        async with DB.transaction():
            yield
            if pending:
                for hook in _before_commit:
                    await hook(pending)
            for write in last:
                await write()
            if pending:
                notices = await _write_events(pending)
    finally:
        _last.reset(last_token)
        _pending.reset(token)
    # Reached only when the transaction committed.
    await bus.announce(notices)


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Inside `transaction()`: a part that may fail on its own (one room of a bulk action).
    If it raises, its writes are rolled back to the savepoint and the events it recorded
    are dropped; the transaction goes on."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("savepoint() must be used inside core.events.transaction()")
    last = _last.get()
    assert last is not None  # set with `_pending`
    mark, last_mark = len(pending), len(last)
    inner = connection().transaction()  # asyncpg: a savepoint inside the open transaction
    await inner.start()
    try:
        yield
    except BaseException:
        await inner.rollback()
        del pending[mark:]
        del last[last_mark:]
        raise
    await inner.commit()


async def _write_events(pending: list[Pending]) -> list[dict[str, Any]]:
    conn = connection()
    # shared: writers never wait for each other, only (for an instant) for a reader's
    # horizon; sorted, so two writers of several customers cannot wait in a cycle
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared($1, hashtext(c))"
        " FROM unnest($2::text[]) AS c ORDER BY c",
        _EVENT_LOCK_CLASS,
        sorted({p.customer_id for p in pending}),
    )
    rows = await conn.fetch(
        "INSERT INTO events (customer_id, type, topics, payload, audience, tm_create)"
        " SELECT c::uuid, t, string_to_array(tp, chr(31)), p::json,"
        "        coalesce(string_to_array(nullif(a, ''), chr(31))::uuid[], '{}'), tm"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        "             $6::timestamptz[]) WITH ORDINALITY AS e(c, t, tp, p, a, tm, n)"
        " ORDER BY n RETURNING id, customer_id, type",
        [p.customer_id for p in pending],
        [p.type for p in pending],
        ["\x1f".join(p.topics) for p in pending],
        [p.payload for p in pending],
        ["\x1f".join(p.audience) for p in pending],
        [p.tm_create for p in pending],
    )
    rows = sorted(rows, key=lambda r: r["id"])
    return [{"id": r["id"], "customer_id": str(r["customer_id"]), "type": r["type"]} for r in rows]


async def record_event(
    customer_id: str,
    type: EventType,
    payload: dict[str, Any] | msgspec.Struct,
    topics: Iterable[str] = (),
    audience: Iterable[str] = (),
) -> None:
    """Queue an event in the current service transaction (written just before commit).

    `audience`: empty when every agent of the customer may see the event; otherwise the
    agents who may (admins and managers always may, except for talk events: see
    enums.is_private_to_audience)."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("record_event() must be called inside core.events.transaction()")
    pending.append(
        Pending(
            customer_id=str(customer_id),
            type=EventType(type).value,  # a type outside the enum fails here, not in readers
            payload=msgspec.json.encode(payload).decode(),
            topics=list(topics),
            audience=sorted({str(a) for a in audience}),
            tm_create=now(),
            depth=_depth.get(),
        )
    )


class StoredEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An event as readers see it."""

    id: int
    customer_id: str
    type: str
    """An EventType value (kept a plain string: a row written by a newer version, with a
    type this one does not know, must not break a reader)."""
    topics: list[str]
    audience: list[str]
    tm_create: datetime
    payload: msgspec.Raw
    """The resource exactly as the API returns it, still encoded: readers forward it."""


async def horizons(customer_ids: Iterable[str]) -> dict[str, int]:
    """Per customer, the id up to which its stream is complete: every event with a lower
    or equal id has committed (or never will), and every event still to commit gets a
    higher one. At least the last pruned id (see `last_event_id`). Waits at most for the
    customers' transactions that are writing events at this instant.

    Must run in a statement of its own before the read it bounds (a statement's snapshot is
    taken when it starts, and the horizon may include commits made while it waited)."""
    ids = sorted({str(c) for c in customer_ids})
    if not ids:
        return {}
    rows = await sql.fetch(
        "SELECT customer_id, horizon FROM event_horizon($1, $2::uuid[])", _EVENT_LOCK_CLASS, ids
    )
    return {str(r["customer_id"]): r["horizon"] for r in rows}


async def horizon(customer_id: str) -> int:
    return (await horizons([customer_id]))[str(customer_id)]


async def events_after(customer_id: str, after_id: int, limit: int = 500) -> list[StoredEvent]:
    """Committed events of one customer with id > after_id, oldest first, up to the
    customer's horizon: an event that commits later always has a higher id than any
    returned here, so the last one returned is a safe cursor."""
    upto = await horizon(customer_id)
    if upto <= after_id:
        return []
    rows = await sql.fetch(
        "SELECT id, customer_id, type, topics, audience, tm_create, payload::text AS payload"
        " FROM events WHERE customer_id = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT $4",
        customer_id,
        after_id,
        upto,
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
    """Where the customer's stream stands: its horizon (its last event's id once the
    transactions writing events now have committed) — or, when every event was pruned
    (core.event_retention), the last one pruned, so that a reader starting here is not
    taken for one resuming from before the pruning. A page rendered after this call shows
    at least every change up to it; what commits later comes after it."""
    return await horizon(customer_id)


async def count_after(customer_id: str, after_id: int, cap: int) -> int:
    """How many of the customer's events come after `after_id`, counting no further than
    `cap` (a resume from far back costs no more than that)."""
    return await sql.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE customer_id = $1 AND id > $2"
        " LIMIT $3) AS missed",
        customer_id,
        after_id,
        cap,
    )


async def pruned_through(customer_id: str) -> int:
    """The last event id of the customer that retention has pruned (0: none). A reader
    resuming after an id below it may have lost events: it must start afresh."""
    through = await sql.fetchval(
        "SELECT events_pruned_through FROM customers WHERE id = $1", customer_id
    )
    return through or 0


class EventBody(msgspec.Struct, kw_only=True):
    """The webhook body, and the API websocket frame: the resource rides along as stored."""

    id: str
    type: str
    tm_create: str
    data: msgspec.Raw


def event_body(event: StoredEvent) -> bytes:
    """The body of a stored event (an API websocket frame)."""
    return encode_body(event.id, event.type, event.tm_create, event.payload)


def encode_body(id: int, type: str, tm_create: datetime, payload: msgspec.Raw) -> bytes:
    """`{"id","type","tm_create","data"}`, `data` being the resource as the API returns it
    (the event's stored bytes): the one body of a webhook delivery and of an API
    websocket frame."""
    return msgspec.json.encode(
        EventBody(id=str(id), type=type, tm_create=fmt(tm_create), data=payload)
    )
