"""The webhook outbox: events become deliveries, deliveries are claimed, attempts recorded.

Durable from end to end. Deliveries are made from the `events` table (never from the live
bus, which may drop a notice): each customer keeps a cursor, its last event turned into
deliveries, and because it reads no further than the customer's horizon (core.events:
every event with a lower id has committed) "every event after the cursor" never skips
one. The cursor moves in the statement that inserts
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

import msgspec

from app.core.events import horizons, transaction
from app.domain.enums import PUBLIC_EVENTS, EventType
from app.domain.timefmt import now
from app.metrics import instruments as metrics
from app.webhooks import store as webhook_store
from app.webhooks.signature import previous_signs_until
from app.webhooks.store import Finished

SCHEDULE = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
"""Seconds from a failed attempt to the next (Standard Webhooks / Svix): an immediate
first attempt, then these seven retries, each with ±10% jitter."""
MAX_ATTEMPTS = len(SCHEDULE) + 1


def next_delay(attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next try after `attempts` failed ones; None when they are spent.
    An endpoint's `Retry-After` is honoured as given (read by `domain.retry`, which holds
    it to a day), but never sooner than a second."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if retry_after is not None:
        return max(retry_after, 1.0)
    return SCHEDULE[attempts - 1] * random.uniform(0.9, 1.1)


# --- events into deliveries -------------------------------------------------------------


async def fan_out(customers: int = 100, events: int = 1000) -> int:
    """Turn the next events of up to `customers` endpoints into deliveries (at most
    `events` per customer); returns how many events were looked at, so the caller knows
    whether more may wait. Dispatchers share this: a customer one of them is working on is
    skipped by the others (SKIP LOCKED on its row, in the mode that does not block the
    inserts that reference it).

    Only events up to each customer's horizon are turned into deliveries, so an event that
    commits late with a lower id is never passed by the cursor (core.events); the horizons
    are taken first, in statements of their own."""
    behind = await webhook_store.behind(customers)
    return await webhook_store.fan_out(
        await horizons(behind),
        events,
        now(),
        EventType.WEBHOOK_TEST.value,
        sorted(e.value for e in PUBLIC_EVENTS),  # "all": the documented types, never the desk's
    )


# --- claiming ---------------------------------------------------------------------------


class Job(msgspec.Struct, frozen=True, kw_only=True):
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
        expired = await webhook_store.release_expired(at, CUT_OFF)
        await webhook_store.log_cut_off(expired, CUT_OFF, at)
    return len(expired)


CUT_OFF = "The dispatcher stopped before the endpoint answered; tried again."


async def claim_due(limit: int, per_endpoint: int, lease_seconds: int) -> list[Job]:
    """Lease up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint
    (those other dispatchers hold included). Endpoints disabled by a 410, or with no URI,
    keep their deliveries waiting."""
    if limit <= 0:
        return []
    at = now()
    claimed = await webhook_store.claim(
        at, per_endpoint, limit, at + timedelta(seconds=lease_seconds)
    )
    jobs = []
    for c in claimed:
        secrets = [c.webhook_secret]
        if previous_signs_until(c.webhook_secret_previous, c.webhook_secret_rotated_at, at):
            secrets.append(c.webhook_secret_previous)
        jobs.append(
            Job(
                id=str(c.id),
                customer_id=str(c.customer_id),
                event_id=c.event_id,
                event_type=c.event_type,
                event_time=c.event_time,
                payload=c.payload,
                attempts=c.attempts,
                uri=c.webhook_uri,
                method=c.webhook_method,
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
    finished = []
    for o in outcomes:
        state, next_try = _next_state(o)
        finished.append(
            Finished(
                delivery_id=o.job.id,
                customer_id=o.job.customer_id,
                attempt=o.job.attempts,
                status=state,
                next_try_at=next_try,
                status_code=o.status_code,
                error=o.error,
                delivered_at=o.at or at if state == "delivered" else None,
                uri=o.job.uri,
                latency_ms=o.latency_ms,
                response=o.response,
                at=o.at or at,
            )
        )
    gone = sorted({o.job.customer_id for o in outcomes if o.gone})
    async with transaction():
        await webhook_store.finish(finished, at)
        if gone:
            await webhook_store.disable(
                gone,
                at,
                "The endpoint answered 410 Gone. Save the webhook settings to enable it again.",
            )
    # counted once written: a batch whose write failed is retried, and counted then
    metrics.count_webhook_failures(sum(1 for o in outcomes if not o.delivered))
