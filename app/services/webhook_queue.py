"""The webhook outbox: events become deliveries, deliveries are claimed, attempts recorded.

Durable from end to end. Deliveries are made from the `events` table (never from the live
bus, which may drop a notice): each customer keeps a cursor, its last event turned into
deliveries, and because a customer's events commit in id order (services.events) "every
event after the cursor" never skips one. The cursor moves in the statement that inserts
the deliveries, so a crash repeats at most an insert that the unique (customer, event)
index turns into nothing.

A claim is a lease, as in the send queue: a dispatcher killed mid-delivery leaves the row
`sending` until the lease runs out, then it is due again (and that attempt is logged as
cut off). Claims take at most `per_endpoint` deliveries per endpoint, counting what every
dispatcher already has in flight there, so a slow or dead endpoint can only ever hold
that many, and the other customers' deliveries go out beside it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db import sql
from app.domain.enums import PUBLIC_EVENTS, EventType
from app.domain.timefmt import now
from app.domain.webhook_signature import previous_signs_until
from app.services.events import connection, transaction

SCHEDULE = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
"""Seconds from a failed attempt to the next (Standard Webhooks / Svix): an immediate
first attempt, then these seven retries, each with ±10% jitter."""
MAX_ATTEMPTS = len(SCHEDULE) + 1
MAX_RETRY_AFTER = 24 * 3600
"""A `Retry-After` longer than this is taken as this."""


def next_delay(attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next try after `attempts` failed ones; None when they are spent.
    An endpoint's `Retry-After` is honoured as given (within a day)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if retry_after is not None:
        return min(max(retry_after, 1.0), MAX_RETRY_AFTER)
    return SCHEDULE[attempts - 1] * random.uniform(0.9, 1.1)


# --- events into deliveries -------------------------------------------------------------


async def fan_out(customers: int = 100, events: int = 1000) -> int:
    """Turn the next events of up to `customers` endpoints into deliveries (at most
    `events` per customer); returns how many events were looked at, so the caller knows
    whether more may wait. Dispatchers share this: a customer one of them is working on is
    skipped by the others (SKIP LOCKED on its row, in the mode that does not block the
    inserts that reference it)."""
    at = now()
    row = await sql.fetchrow(
        """
        WITH c AS (
            SELECT id, webhook_event_cursor AS cursor, webhook_events AS types
            FROM customers
            WHERE webhook_uri <> '' AND tm_delete IS NULL
              AND EXISTS (SELECT 1 FROM events e
                          WHERE e.customer_id = customers.id AND e.id > webhook_event_cursor)
            LIMIT $1
            FOR NO KEY UPDATE SKIP LOCKED
        ), ev AS (
            SELECT e.id, e.customer_id, e.type, e.tm_create, c.types
            FROM c CROSS JOIN LATERAL (
                SELECT id, customer_id, type, tm_create FROM events
                WHERE customer_id = c.id AND id > c.cursor ORDER BY id LIMIT $2
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
        customers,
        events,
        at,
        EventType.WEBHOOK_TEST.value,
        sorted(e.value for e in PUBLIC_EVENTS),  # "all": the documented types, never the desk's
    )
    return int(row["seen"]) if row else 0


# --- claiming ---------------------------------------------------------------------------


@dataclass(slots=True)
class Job:
    """A claimed delivery with everything needed to make the attempt."""

    id: str
    customer_id: str
    event_id: int
    event_type: str
    event_time: datetime
    payload: str
    attempts: int
    uri: str
    method: str
    secrets: list[str]
    """The current signing secret first, then the rotated-out one while it still signs."""


async def reclaim_expired() -> int:
    """Deliveries whose dispatcher died mid-attempt (lease run out) become due again; the
    cut-off attempt is logged."""
    at = now()
    async with transaction():
        rows = await connection().fetch(
            "UPDATE webhook_deliveries SET status = 'pending', next_try_at = $1,"
            " lease_until = NULL, last_error = $2, tm_update = $1"
            " WHERE status = 'sending' AND lease_until < $1"
            " RETURNING id, customer_id",
            at,
            CUT_OFF,
        )
        if rows:
            await connection().executemany(
                "INSERT INTO webhook_attempts (delivery_id, customer_id, uri, status_code,"
                " latency_ms, error, response, tm_create)"
                " SELECT $1, $2, webhook_uri, NULL, 0, $3, '', $4 FROM customers WHERE id = $2",
                [(r["id"], r["customer_id"], CUT_OFF, at) for r in rows],
            )
    return len(rows)


CUT_OFF = "The dispatcher stopped before the endpoint answered; tried again."


async def claim_due(limit: int, per_endpoint: int, lease_seconds: int) -> list[Job]:
    """Lease up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint
    (those other dispatchers hold included). Endpoints disabled by a 410, or with no URI,
    keep their deliveries waiting."""
    if limit <= 0:
        return []
    at = now()
    rows = await sql.fetch(
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
        at + timedelta(seconds=lease_seconds),
    )
    jobs = []
    for r in rows:
        secrets = [r["webhook_secret"]]
        if previous_signs_until(r["webhook_secret_previous"], r["webhook_secret_rotated_at"], at):
            secrets.append(r["webhook_secret_previous"])
        jobs.append(
            Job(
                id=str(r["id"]),
                customer_id=str(r["customer_id"]),
                event_id=r["event_id"],
                event_type=r["event_type"],
                event_time=r["event_time"],
                payload=r["payload"],
                attempts=r["attempts"],
                uri=r["webhook_uri"],
                method=r["webhook_method"],
                secrets=secrets,
            )
        )
    return jobs


# --- recording --------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """One attempt's result, as the dispatcher saw it."""

    job: Job
    status_code: int | None
    latency_ms: int
    error: str = ""
    response: str = ""
    retry_after: float | None = None
    at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def _next_state(outcome: Outcome) -> tuple[str, datetime | None]:
    at = outcome.at or now()
    if outcome.delivered:
        return "delivered", None
    if outcome.gone:
        return "failed", None
    delay = next_delay(outcome.job.attempts, outcome.retry_after)
    if delay is None:
        return "failed", None
    return "pending", at + timedelta(seconds=delay)


async def record(outcomes: list[Outcome]) -> None:
    """Write a batch of attempts: the deliveries' new states, the attempt log, and the
    endpoints that answered 410 Gone (disabled). Only the claim that made an attempt
    records it (same delivery and attempt number), so a late writer whose lease ran out
    cannot undo a newer attempt."""
    if not outcomes:
        return
    at = now()
    ids, attempts, states, next_tries, codes, errors, delivered_at = [], [], [], [], [], [], []
    for o in outcomes:
        state, next_try = _next_state(o)
        ids.append(o.job.id)
        attempts.append(o.job.attempts)
        states.append(state)
        next_tries.append(next_try)
        codes.append(o.status_code)
        errors.append(o.error)
        delivered_at.append(o.at or at if state == "delivered" else None)
    gone = sorted({o.job.customer_id for o in outcomes if o.gone})
    async with transaction():
        conn = connection()
        await conn.execute(
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
            ids,
            attempts,
            states,
            next_tries,
            codes,
            errors,
            delivered_at,
            at,
        )
        await conn.execute(
            """
            INSERT INTO webhook_attempts
                (delivery_id, customer_id, uri, status_code, latency_ms, error, response,
                 tm_create)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[],
                                 $6::text[], $7::text[], $8::timestamptz[])
            """,
            ids,
            [o.job.customer_id for o in outcomes],
            [o.job.uri for o in outcomes],
            codes,
            [o.latency_ms for o in outcomes],
            errors,
            [o.response for o in outcomes],
            [o.at or at for o in outcomes],
        )
        if gone:
            await conn.execute(
                "UPDATE customers SET webhook_disabled_at = $2, webhook_disabled_reason = $3"
                " WHERE id = ANY($1::uuid[]) AND webhook_disabled_at IS NULL",
                gone,
                at,
                "The endpoint answered 410 Gone. Save the webhook settings to enable it again.",
            )
