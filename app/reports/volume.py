"""The customer's message counts, folded from the event stream (`report_volume`).

Per quarter hour (`span` "q": the busiest hours, the totals) and per UTC day ("d": an
agent's replies over long periods, with quarter hours at the period's partial edges):
under the nil agent the customer's messages and every agent's replies, under an agent
its own replies. A year is 35,000 quarter hours and 366 days, whatever the number of rooms
or messages, which is what lets an unfiltered report over a year answer in milliseconds;
filtered reports read the per-room slots instead (`report_slots`, kept by the message's
own statement).

What is folded: each `conversation_message_created` event (a customer's message, or a
reply an agent sent; an integration's reply is no agent's and is not counted), in event
id order after the customer's cursor (`report_cursors`); and each `conversation_deleted`,
which takes the room's slots back out (a deleted room counts nowhere; its messages came
before its deletion, so they were folded already). A merge moves messages between rooms
and changes no count here. Events of one customer commit in id order (core.events), so
reading after the cursor skips nothing.

Who folds: the worker, every `CONVODESK_REPORTS_TICK`, for every customer with events past
its cursor (a customer another worker is folding is skipped: an advisory lock), and every
report before it reads (`catch_up`, which waits for that lock), so a report always counts
everything committed before it was asked. Each batch, its counts and the cursor move in one
transaction: a crash folds nothing twice.
"""

from __future__ import annotations

import asyncio
import logging

from app.core.events import transaction
from app.db import sql
from app.db.piccolo_conf import DB
from app.reports import facts
from app.reports.facts import NOBODY, SLOT_SQL
from app.settings import Settings

log = logging.getLogger(__name__)

BATCH = 5000
"""Events read per transaction."""
_LOCK_CLASS = 0x5E7047
"""pg_advisory_xact_lock(int, int) namespace: "folding this customer's events"."""

_DAY = "date_trunc('day', {col} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

FOLD = (
    "WITH ev AS (SELECT e.id, e.type, e.payload FROM events e"
    "   WHERE e.customer_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3),"
    " msg AS (SELECT ((payload->>'tm_create') || '+00')::timestamptz AS at,"
    "   payload->>'direction' AS direction, (payload->>'agent_id')::uuid AS agent"
    "   FROM ev WHERE type = 'conversation_message_created'),"
    " counted AS (SELECT at, CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END AS inbound,"
    "   CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END AS reply, agent FROM msg"
    "   WHERE direction = 'inbound' OR (direction = 'outbound' AND agent IS NOT NULL)),"
    " gone AS (SELECT s.slot AS at, -s.inbound AS inbound, -s.replies AS reply,"
    f"   nullif(s.agent_id, '{NOBODY}') AS agent"
    "   FROM report_slots s WHERE s.conversation_id IN"
    "   (SELECT (payload->>'id')::uuid FROM ev WHERE type = 'conversation_deleted')),"
    " changes AS (SELECT * FROM counted UNION ALL SELECT * FROM gone),"
    " cells AS ("
    f"   SELECT 'q' AS span, {SLOT_SQL.format(col='at')} AS start, '{NOBODY}'::uuid AS agent_id,"
    "     inbound, reply FROM changes"
    f"   UNION ALL SELECT 'q', {SLOT_SQL.format(col='at')}, agent, 0, reply FROM changes"
    "     WHERE agent IS NOT NULL"
    f"   UNION ALL SELECT 'd', {_DAY.format(col='at')}, '{NOBODY}'::uuid, inbound, reply"
    "     FROM changes"
    f"   UNION ALL SELECT 'd', {_DAY.format(col='at')}, agent, 0, reply FROM changes"
    "     WHERE agent IS NOT NULL),"
    " folded AS (INSERT INTO report_volume (customer_id, span, start, agent_id, inbound, replies)"
    "   SELECT $1, span, start, agent_id, sum(inbound), sum(reply) FROM cells"
    "   GROUP BY span, start, agent_id"
    "   ON CONFLICT (customer_id, span, agent_id, start) DO UPDATE"
    "   SET inbound = report_volume.inbound + excluded.inbound,"
    "   replies = report_volume.replies + excluded.replies)"
    " SELECT max(id) AS last, count(*) AS n FROM ev"
)
"""SQL: fold up to $3 of customer $1's events after id $2; the last id read and how many."""


async def _fold_batch(customer_id: str, *, wait: bool) -> int | None:
    """One batch in one transaction: the events read, or None when another process is
    folding this customer (and `wait` is false)."""
    folded: int | None = None
    async with DB.transaction():
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = await sql.fetchval(f"SELECT {lock}($1, hashtext($2))::text", _LOCK_CLASS, customer_id)
        if got != "false":
            cursor = await sql.fetchval(
                "INSERT INTO report_cursors (customer_id) VALUES ($1) ON CONFLICT (customer_id)"
                " DO UPDATE SET customer_id = excluded.customer_id RETURNING event_id",
                customer_id,
            )
            row = await sql.fetchrow(FOLD, customer_id, cursor, BATCH)
            assert row is not None
            folded = int(row["n"])
            if folded:
                await sql.execute(
                    "UPDATE report_cursors SET event_id = $2, tm_update = now()"
                    " WHERE customer_id = $1",
                    customer_id,
                    row["last"],
                )
    return folded


async def catch_up(customer_id: str, *, wait: bool = True) -> int:
    """Fold the customer's events up to the last committed one; the number folded. With
    `wait`, after any other process folding it now (a report must count everything);
    without, a customer being folded elsewhere is left to that process (the worker)."""
    folded = 0
    while True:
        n = await _fold_batch(customer_id, wait=wait)
        if n is None:
            return folded
        folded += n
        if n < BATCH:
            return folded


async def behind() -> list[str]:
    """The customers with events past their cursor (one index probe each)."""
    rows = await sql.fetch(
        "SELECT c.id FROM customers c LEFT JOIN report_cursors r ON r.customer_id = c.id"
        " WHERE EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id"
        "   AND e.id > coalesce(r.event_id, 0))"
    )
    return [str(r["id"]) for r in rows]


async def fold_all() -> int:
    """One round of the worker: every customer's new events folded (those another worker
    is folding now are its). Returns the events folded."""
    folded = 0
    for customer_id in await behind():
        folded += await catch_up(customer_id, wait=False)
    return folded


async def run(settings: Settings) -> None:
    while True:
        try:
            await fold_all()
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("report counts: folding the event stream failed")
        await asyncio.sleep(settings.reports_tick_seconds)


async def recount_all(customer_id: str) -> None:
    """Every fact and count of the customer counted again from its records: the rooms'
    facts and slots (`facts.rebuild`), then the customer's counts from the slots of the
    rooms that count, with the cursor at the customer's last event. For data loaded in
    bulk (its events were never folded) and for checks; migration 0033 does the same for
    every customer."""
    async with transaction():
        await sql.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, customer_id
        )
        await facts.rebuild(customer_id)
        await sql.execute("DELETE FROM report_volume WHERE customer_id = $1", customer_id)
        await sql.execute(
            "INSERT INTO report_volume (customer_id, span, start, agent_id, inbound, replies)"
            f" SELECT s.customer_id, k.span, CASE k.span WHEN 'q' THEN s.slot"
            f"   ELSE {_DAY.format(col='s.slot')} END,"
            f"   CASE WHEN k.everyone THEN '{NOBODY}'::uuid ELSE s.agent_id END,"
            "   sum(CASE WHEN k.everyone THEN s.inbound ELSE 0 END), sum(s.replies)"
            " FROM report_slots s JOIN conversations c ON c.id = s.conversation_id"
            " AND c.tm_delete IS NULL AND c.merged_into IS NULL,"
            " (VALUES ('q', true), ('q', false), ('d', true), ('d', false)) k(span, everyone)"
            f" WHERE s.customer_id = $1 AND (k.everyone OR s.agent_id <> '{NOBODY}')"
            " GROUP BY 1, 2, 3, 4",
            customer_id,
        )
        await sql.execute(
            "INSERT INTO report_cursors (customer_id, event_id)"
            " VALUES ($1, coalesce((SELECT max(id) FROM events WHERE customer_id = $1), 0))"
            " ON CONFLICT (customer_id) DO UPDATE SET event_id = excluded.event_id,"
            " tm_update = now()",
            customer_id,
        )
