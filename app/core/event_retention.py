"""Event retention: events older than the retention are deleted, customer by customer, in
batches — except those the webhook queue still needs.

Kept whatever their age: an event that a delivery is still to send (`pending` or
`sending`), and an event after the webhook cursor of a live customer with an endpoint (not
yet turned into deliveries). A delivered or failed delivery keeps its log row; its event
may go, and retrying that delivery then answers `event_pruned`.

Each customer's `events_pruned_through` records the last id pruned, so a reader resuming
from before it is told to start afresh instead of silently missing events
(`events.pruned_through`); kept events below it change nothing about that answer.

A customer's events are walked in id order by the `events_customer_id` index, from the
oldest, and the walk stops at the first event younger than the cut-off: ids follow commit
order and `tm_create` is taken a moment before commit, so an event a little past the
cut-off behind a younger one simply waits for the next run.

Locks: a batch holds the customer's prune lock (an advisory lock) until it commits; the
admin's "retry now" takes it shared before it makes a delivery pending again, so no
delivery becomes pending for an event a batch is deleting. A pruner that finds the lock
taken (a pruner in another process, a retry) leaves the customer for the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from itertools import takewhile

from app.core.events import connection, transaction
from app.db import sql
from app.domain.timefmt import now

log = logging.getLogger(__name__)

PRUNE_LOCK_CLASS = 0x0C0DE6
"""Namespace for pg_advisory_xact_lock(int, int): "pruning this customer's events"."""

BATCH = 1000


async def prune(retention: timedelta, batch: int = BATCH) -> int:
    """Delete every customer's events older than `retention` that nothing needs; returns
    how many went."""
    cutoff = now() - retention
    # the customers whose oldest event is past the cut-off: one index probe each
    customers = await sql.fetch(
        "SELECT c.id FROM customers c WHERE (SELECT e.tm_create FROM events e"
        " WHERE e.customer_id = c.id ORDER BY e.id LIMIT 1) < $1",
        cutoff,
    )
    total = 0
    for row in customers:
        total += await _prune_customer(str(row["id"]), cutoff, batch)
    return total


async def _prune_customer(customer_id: str, cutoff: datetime, batch: int) -> int:
    after = 0
    pruned = 0
    while True:
        rows = await sql.fetch(
            "SELECT id, tm_create FROM events WHERE customer_id = $1 AND id > $2"
            " ORDER BY id LIMIT $3",
            customer_id,
            after,
            batch,
        )
        old = [r["id"] for r in takewhile(lambda r: r["tm_create"] < cutoff, rows)]
        if old:
            deleted = await _delete(customer_id, old)
            if deleted is None:
                return pruned
            pruned += deleted
        if len(old) < batch:
            return pruned
        after = old[-1]


async def _delete(customer_id: str, ids: list[int]) -> int | None:
    """Delete those of `ids` that nothing needs and move the customer's watermark; None
    when another holds the customer's prune lock."""
    async with transaction():
        conn = connection()
        if not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", PRUNE_LOCK_CLASS, customer_id
        ):
            return None
        # Statements after the lock see every retry committed before it (read committed).
        return await conn.fetchval(
            """
            WITH gone AS (
                DELETE FROM events e
                WHERE e.customer_id = $1 AND e.id = ANY($2::bigint[])
                  AND NOT EXISTS (
                      SELECT 1 FROM customers c
                      WHERE c.id = $1 AND c.webhook_uri <> '' AND c.tm_delete IS NULL
                        AND e.id > c.webhook_event_cursor)
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries d
                      WHERE d.customer_id = $1 AND d.event_id = e.id
                        AND d.status IN ('pending', 'sending'))
                RETURNING e.id
            ), moved AS (
                UPDATE customers SET events_pruned_through = m.last
                FROM (SELECT max(id) AS last FROM gone) m
                WHERE customers.id = $1 AND m.last > customers.events_pruned_through
            )
            SELECT count(*) FROM gone
            """,
            customer_id,
            ids,
        )


async def hold_events(customer_id: str) -> None:
    """Keep the customer's events from being pruned until the current transaction ends
    (the prune lock, shared): for a change that makes an event needed again."""
    await connection().execute(
        "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", PRUNE_LOCK_CLASS, customer_id
    )
