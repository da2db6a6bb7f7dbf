"""The queues' figures, read at scrape time: plain SQL (app/db/sql.py), one statement."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.db import sql


class QueueFigures(msgspec.Struct, frozen=True, kw_only=True):
    webhook_depth: int
    webhook_oldest_seconds: float
    send_depth: int
    send_oldest_seconds: float


async def queue_figures(at: datetime) -> QueueFigures:
    """The webhook outbox's deliveries still to make (pending or being attempted; the
    partial indexes `webhook_deliveries_due`/`_sending` hold exactly those) and how old the
    oldest one's event is; the send queue's messages that are due or being sent
    (`outbound_waiting`), and how long ago the oldest became due. A reply scheduled for
    later is not waiting yet."""
    found = await sql.fetchrow_as(
        QueueFigures,
        """
        SELECT w.n AS webhook_depth,
               coalesce(greatest(extract(epoch FROM $1 - w.oldest), 0), 0)::float8
                   AS webhook_oldest_seconds,
               s.n AS send_depth,
               coalesce(greatest(extract(epoch FROM $1 - s.oldest), 0), 0)::float8
                   AS send_oldest_seconds
        FROM (SELECT count(*) AS n, min(tm_create) AS oldest FROM webhook_deliveries
              WHERE status IN ('pending', 'sending')) w,
             (SELECT count(*) AS n, min(next_try_at) AS oldest FROM outbound_messages
              WHERE status IN ('queued', 'sending') AND next_try_at <= $1) s
        """,
        at,
    )
    assert found is not None  # aggregates always give one row
    return found
