"""The webhook tables' SQL (webhook_deliveries, webhook_attempts, and the customers'
webhook cursor and endpoint state), as typed rows.

The dispatcher's three statements per batch are plain SQL (app/db/sql.py): making
deliveries from events and claiming due ones need CTEs, LATERAL joins and FOR UPDATE SKIP
LOCKED, and writing a batch's results updates and inserts from arrays (`unnest`), none of
which Piccolo's query builder can say; they run for every delivery (bench/webhook_dispatch.py:
~1,000-1,200 deliveries/s from one worker). The log pages and the admins' actions use the
builder.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import Customer, Event, WebhookAttempt, WebhookDelivery
from app.domain.enums import DeliveryStatus


class DeliveryRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_try_at: datetime | None
    lease_until: datetime | None
    last_status_code: int | None
    last_error: str
    tm_create: datetime
    tm_update: datetime
    tm_delivered: datetime | None


class AttemptRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    delivery_id: UUID
    customer_id: UUID
    uri: str
    status_code: int | None
    latency_ms: int
    error: str
    response: str
    tm_create: datetime


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery leased for an attempt, with its event and its endpoint."""

    id: UUID
    customer_id: UUID
    event_id: int
    event_type: str
    attempts: int
    """This attempt's number."""
    event_time: datetime
    payload: str
    """The event's resource, as stored."""
    webhook_uri: str
    webhook_method: str
    webhook_secret: str
    webhook_secret_previous: str
    webhook_secret_rotated_at: datetime | None


class Finished(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt to write down: the delivery's next state and the attempt's log line."""

    delivery_id: str
    customer_id: str
    attempt: int
    """The number the claim gave it: only that claim may write it."""
    status: str
    next_try_at: datetime | None
    status_code: int | None
    error: str
    delivered_at: datetime | None
    uri: str
    latency_ms: int
    response: str
    at: datetime


class Expired(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID


# --- plain SQL: the dispatcher's batches ------------------------------------------------------


async def behind(customers: int) -> list[str]:
    """Up to `customers` endpoints' customers with events after their webhook cursor."""
    rows = await sql.fetch(
        "SELECT id FROM customers WHERE webhook_uri <> '' AND tm_delete IS NULL"
        " AND EXISTS (SELECT 1 FROM events e"
        "             WHERE e.customer_id = customers.id AND e.id > webhook_event_cursor)"
        " LIMIT $1",
        customers,
    )
    return [str(r["id"]) for r in rows]


async def fan_out(
    horizons: dict[str, int], events: int, at: datetime, test_event: str, every_type: list[str]
) -> int:
    """Deliveries for the next events (at most `events` each, none past the customer's
    horizon: core.events.horizons) of the given customers that no other dispatcher is
    working on, the cursors moved past them; how many events were looked at. A customer
    subscribed to no type gets `every_type`; every endpoint gets `test_event`."""
    if not horizons:
        return 0
    seen = await sql.fetchval(
        """
        WITH c AS (
            SELECT id, webhook_event_cursor AS cursor, webhook_events AS types, h.upto
            FROM customers
            JOIN unnest($1::uuid[], $6::bigint[]) AS h (customer_id, upto)
              ON h.customer_id = customers.id
            WHERE webhook_uri <> '' AND tm_delete IS NULL AND webhook_event_cursor < h.upto
            FOR NO KEY UPDATE OF customers SKIP LOCKED
        ), ev AS (
            SELECT e.id, e.customer_id, e.type, e.tm_create, c.types
            FROM c CROSS JOIN LATERAL (
                SELECT id, customer_id, type, tm_create FROM events
                WHERE customer_id = c.id AND id > c.cursor AND id <= c.upto
                ORDER BY id LIMIT $2
            ) e
        ), made AS (
            INSERT INTO webhook_deliveries
                (id, customer_id, event_id, event_type, status, attempts, next_try_at,
                 last_error, tm_create, tm_update)
            SELECT gen_random_uuid(), customer_id, id, type, 'pending', 0, $3, '',
                   tm_create, $3
            FROM ev
            WHERE (cardinality(types) = 0 AND type = ANY($5)) OR type = ANY(types) OR type = $4
            ON CONFLICT (customer_id, event_id) DO NOTHING
        ), moved AS (
            UPDATE customers SET webhook_event_cursor = m.last
            FROM (SELECT customer_id, max(id) AS last FROM ev GROUP BY customer_id) m
            WHERE customers.id = m.customer_id
        )
        SELECT count(*) AS seen FROM ev
        """,
        list(horizons),
        events,
        at,
        test_event,
        every_type,
        list(horizons.values()),
    )
    return int(seen or 0)


async def claim(
    at: datetime, per_endpoint: int, limit: int, lease_until: datetime
) -> list[Claimed]:
    """Lease up to `limit` deliveries due at `at`, at most `per_endpoint` in flight per
    endpoint (those other dispatchers hold included), from endpoints with a URI that are
    not disabled."""
    return await sql.fetch_as(
        Claimed,
        """
        WITH picked AS (
            SELECT x.id FROM customers c
            CROSS JOIN LATERAL (
                SELECT count(*) AS n FROM webhook_deliveries b
                WHERE b.customer_id = c.id AND b.status = 'sending'
            ) busy
            CROSS JOIN LATERAL (
                SELECT d.id, d.next_try_at FROM webhook_deliveries d
                WHERE d.customer_id = c.id AND d.status = 'pending' AND d.next_try_at <= $1
                ORDER BY d.next_try_at
                LIMIT greatest($2 - busy.n, 0)
                FOR UPDATE SKIP LOCKED
            ) x
            WHERE c.webhook_uri <> '' AND c.webhook_disabled_at IS NULL AND c.tm_delete IS NULL
            ORDER BY x.next_try_at
            LIMIT $3
        )
        UPDATE webhook_deliveries w
        SET status = 'sending', attempts = w.attempts + 1, lease_until = $4, tm_update = $1
        FROM picked, events e, customers c
        WHERE w.id = picked.id AND e.id = w.event_id AND c.id = w.customer_id
        RETURNING w.id, w.customer_id, w.event_id, w.event_type, w.attempts,
                  e.tm_create AS event_time, e.payload::text AS payload,
                  c.webhook_uri, c.webhook_method, c.webhook_secret,
                  c.webhook_secret_previous, c.webhook_secret_rotated_at
        """,
        at,
        per_endpoint,
        limit,
        lease_until,
    )


async def finish(results: list[Finished], at: datetime) -> None:
    """Write a batch of attempts: each delivery's new state (only if it is still the
    claim that made the attempt) and the attempt log."""
    await sql.execute(
        """
        UPDATE webhook_deliveries d
        SET status = o.status, next_try_at = o.next_try, lease_until = NULL,
            last_status_code = o.code, last_error = o.error, tm_update = $8,
            tm_delivered = coalesce(o.delivered, d.tm_delivered)
        FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::int[],
                    $6::text[], $7::timestamptz[])
             AS o(id, attempts, status, next_try, code, error, delivered)
        WHERE d.id = o.id AND d.attempts = o.attempts AND d.status = 'sending'
        """,
        [r.delivery_id for r in results],
        [r.attempt for r in results],
        [r.status for r in results],
        [r.next_try_at for r in results],
        [r.status_code for r in results],
        [r.error for r in results],
        [r.delivered_at for r in results],
        at,
    )
    await sql.execute(
        """
        INSERT INTO webhook_attempts
            (delivery_id, customer_id, uri, status_code, latency_ms, error, response,
             tm_create)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[],
                             $6::text[], $7::text[], $8::timestamptz[])
        """,
        [r.delivery_id for r in results],
        [r.customer_id for r in results],
        [r.uri for r in results],
        [r.status_code for r in results],
        [r.latency_ms for r in results],
        [r.error for r in results],
        [r.response for r in results],
        [r.at for r in results],
    )


# --- the query builder -------------------------------------------------------------------------


async def release_expired(at: datetime, error: str) -> list[Expired]:
    """Deliveries whose lease ran out (their dispatcher died mid-attempt) are due at `at`."""
    rows = (
        await WebhookDelivery.update(
            {
                WebhookDelivery.status: DeliveryStatus.PENDING.value,
                WebhookDelivery.next_try_at: at,
                WebhookDelivery.lease_until: None,
                WebhookDelivery.last_error: error,
                WebhookDelivery.tm_update: at,
            }
        )
        .where(
            WebhookDelivery.status == DeliveryStatus.SENDING.value,
            WebhookDelivery.lease_until < at,
        )
        .returning(WebhookDelivery.id, WebhookDelivery.customer_id)
    )
    return [Expired(**r) for r in rows]


async def log_cut_off(expired: list[Expired], error: str, at: datetime) -> None:
    """An attempt without an answer for each delivery, to its endpoint's current URI."""
    if not expired:
        return
    customers = await Customer.select(Customer.id, Customer.webhook_uri).where(
        Customer.id.is_in(sorted({str(e.customer_id) for e in expired}))
    )
    uris = {str(c["id"]): c["webhook_uri"] for c in customers}
    await WebhookAttempt.insert(
        *[
            WebhookAttempt(
                delivery_id=e.id,
                customer_id=e.customer_id,
                uri=uris.get(str(e.customer_id), ""),
                status_code=None,
                latency_ms=0,
                error=error,
                response="",
                tm_create=at,
            )
            for e in expired
        ]
    )


async def disable(customer_ids: list[str], at: datetime, reason: str) -> None:
    """Stop sending to these endpoints (until their settings are saved again)."""
    await Customer.update(
        {Customer.webhook_disabled_at: at, Customer.webhook_disabled_reason: reason}
    ).where(Customer.id.is_in(customer_ids), Customer.webhook_disabled_at.is_null())


async def delivery_page(
    customer_id: str,
    status: DeliveryStatus | None,
    event_type: str | None,
    page_size: int,
    page_token: str | None,
) -> tuple[list[DeliveryRow], str]:
    """The customer's deliveries, newest event first."""
    where = [WebhookDelivery.customer_id == customer_id]
    if status is not None:
        where.append(WebhookDelivery.status == status.value)
    if event_type:
        where.append(WebhookDelivery.event_type == event_type)
    return await keyset_page_as(DeliveryRow, WebhookDelivery, where, page_size, page_token)


async def delivery(customer_id: str, delivery_id: str, *, lock: bool = False) -> DeliveryRow | None:
    query = WebhookDelivery.select().where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.customer_id == customer_id
    )
    if lock:
        query = query.lock_rows()
    row = await query.first()
    return None if row is None else typed.as_row(DeliveryRow, row)


async def attempts_of(delivery_ids: list[UUID]) -> list[AttemptRow]:
    """The deliveries' attempts, oldest first."""
    if not delivery_ids:
        return []
    rows = (
        await WebhookAttempt.select()
        .where(WebhookAttempt.delivery_id.is_in(delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    return typed.as_rows(AttemptRow, rows)


async def event_kept(event_id: int) -> bool:
    """Whether the delivery's event is still stored (not pruned by the retention)."""
    return await Event.exists().where(Event.id == event_id)


async def due_now(delivery_id: UUID, at: datetime) -> None:
    """The delivery is pending and due at `at`."""
    await WebhookDelivery.update(
        {
            WebhookDelivery.status: DeliveryStatus.PENDING.value,
            WebhookDelivery.next_try_at: at,
            WebhookDelivery.tm_update: at,
        }
    ).where(WebhookDelivery.id == delivery_id)
