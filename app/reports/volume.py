"""The customer's message counts, folded from the event stream (`report_volume`).

Per quarter hour (`span` "q": the busiest hours, the totals) and per UTC day ("d": an
agent's replies over long periods, with quarter hours at the period's partial edges):
under the nil agent the customer's messages and every agent's replies, under an agent
its own replies. Kept for the whole customer and per team, assignee and channel (`KEPT`).
A year is 35,000 quarter hours and 366 days, whatever the number of rooms or messages,
which is what lets a report over a year answer in milliseconds, unfiltered or filtered by
one team, agent or channel; a report filtered by two of them reads the per-room slots
instead (`report_slots`, kept by the message's own statement).

The rule: a message counts for the team, assignee and channel of its room when it is
folded (seconds after it was written: the worker's round, or the next report), as Chatwoot
and Zendesk count messages; a room that changes hands later leaves its counted messages
where they are. Each room's share is kept under what it was counted
(`report_room_counts`), so that a deletion takes back exactly what the room added.

What is folded: each `conversation_message_created` event (a customer's message, or a
reply an agent sent; an integration's reply is no agent's and is not counted), in event
id order after the customer's cursor (`report_cursors`); and each `conversation_deleted`,
which takes the room's shares back out (a deleted room counts nowhere; its messages came
before its deletion, so they were folded already). A merge moves the shares with the
messages and changes no count. A batch reads no further than the customer's horizon
(core.events), so reading after the cursor skips nothing.

Who folds: the worker, every `CONVODESK_REPORTS_TICK`, for every customer with events past
its cursor (a customer another worker is folding is skipped: an advisory lock), and every
report before it reads (`catch_up`, which waits for that lock), so a report always counts
everything committed before it was asked. Each batch, its counts and the cursor move in one
transaction: a crash folds nothing twice.
"""

from __future__ import annotations

import asyncio
import logging

from app.core.events import horizon, transaction
from app.db import sql
from app.db.piccolo_conf import DB
from app.reports import facts
from app.reports.facts import NOBODY, SLOT_SQL
from app.reports.scope import Scope
from app.settings import Settings

log = logging.getLogger(__name__)

BATCH = 5000
"""Events read per transaction."""
_LOCK_CLASS = 0x5E7047
"""pg_advisory_xact_lock(int, int) namespace: "folding this customer's events"."""

_DAY = "date_trunc('day', {col} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

KEPT = (
    ("", "q", False),
    ("", "q", True),
    ("", "d", False),
    ("", "d", True),
    ("team", "q", False),
    ("team", "q", True),
    ("team", "d", True),
    ("channel", "q", False),
    ("channel", "q", True),
    ("channel", "d", True),
    ("owner", "q", False),
)
"""The counts kept, as (dimension, span, by agent): the whole customer's ('') every way;
a team's and a channel's messages per quarter hour and each agent's replies in them per
quarter hour and UTC day (the agents report filtered by team or channel); an assignee's
messages per quarter hour (the summary filtered by agent; no report splits an assignee's
rooms by who replied). A dimension's counts are under its value (`dimension_key`: the
team's id, the assignee's id, the channel's name)."""

_CELLS = (
    "(VALUES "
    + ", ".join(f"('{d}', '{span}', {str(agent).lower()})" for d, span, agent in KEPT)
    + ") k(dimension, span, by_agent)"
)


def filters_of(scope: Scope) -> list[tuple[str, str]]:
    """The room filters of `scope` as (dimension, key): none, one, or more."""
    named = (("team", scope.team_id), ("owner", scope.owner_id), ("channel", scope.reference_type))
    return [(dimension, key) for dimension, key in named if key]


def kept_for(scope: Scope, *, by_agent: bool) -> tuple[str, str] | None:
    """Which of the customer's counts answer `scope`'s messages: (dimension, key) for no
    room filter or exactly one, when they are kept per agent too if `by_agent`; None when
    the report must read its rooms' slots instead (two filters or more)."""
    named = filters_of(scope)
    if len(named) > 1:
        return None
    dimension, key = named[0] if named else ("", "")
    return (dimension, key) if (dimension, "q", by_agent) in KEPT else None


def cells(changes: str) -> str:
    """SQL: the counts one change makes, from `changes` (at, inbound, reply, agent, team,
    owner, channel: a message, or a room's slot taken back), one row per kept count with
    its dimension, key, span, start, agent, inbound and replies."""
    return (
        "SELECT k.dimension, d.key AS dimension_key, k.span,"
        f" CASE k.span WHEN 'q' THEN {SLOT_SQL.format(col='x.at')}"
        f"   ELSE {_DAY.format(col='x.at')} END AS start,"
        f" CASE WHEN k.by_agent THEN x.agent ELSE '{NOBODY}'::uuid END AS agent_id,"
        " CASE WHEN k.by_agent THEN 0 ELSE x.inbound END AS inbound, x.reply AS replies"
        f" FROM ({changes}) x CROSS JOIN LATERAL (VALUES ('', ''), ('team', x.team::text),"
        " ('owner', x.owner::text), ('channel', x.channel)) d(dimension, key)"
        f" JOIN {_CELLS} ON k.dimension = d.dimension"
        " WHERE d.key IS NOT NULL AND (NOT k.by_agent OR x.agent IS NOT NULL)"
    )


_KEEP = (
    " INSERT INTO report_volume"
    " (customer_id, dimension, dimension_key, span, start, agent_id, inbound, replies)"
    " SELECT {customer}, dimension, dimension_key, span, start, agent_id, sum(inbound),"
    " sum(replies) FROM ({cells}) c GROUP BY 2, 3, 4, 5, 6"
)
"""SQL: `cells` summed into the customer's counts."""

_SHARED = (
    "ON CONFLICT (conversation_id, slot, agent_id, team_id, owner_id, channel) DO UPDATE"
    " SET inbound = report_room_counts.inbound + excluded.inbound,"
    " replies = report_room_counts.replies + excluded.replies"
)

_SUMMED = (
    " ON CONFLICT (customer_id, dimension, dimension_key, span, agent_id, start) DO UPDATE"
    " SET inbound = report_volume.inbound + excluded.inbound,"
    " replies = report_volume.replies + excluded.replies"
)

FOLD = (
    "WITH ev AS (SELECT e.id, e.type, e.payload FROM events e"
    "   WHERE e.customer_id = $1 AND e.id > $2 AND e.id <= $4 ORDER BY e.id LIMIT $3),"
    # a message counts for the team, assignee and channel of the room it is in (a merge
    # may have moved it) when it is folded
    " msg AS (SELECT c.id AS room, ((e.payload->>'tm_create') || '+00')::timestamptz AS at,"
    "   CASE WHEN e.payload->>'direction' = 'inbound' THEN 1 ELSE 0 END AS inbound,"
    "   CASE WHEN e.payload->>'direction' = 'outbound' THEN 1 ELSE 0 END AS reply,"
    "   (e.payload->>'agent_id')::uuid AS agent,"
    "   c.team_id AS team, c.owner_id AS owner, c.reference_type AS channel"
    "   FROM ev e LEFT JOIN messages m ON m.id = (e.payload->>'id')::uuid"
    "   LEFT JOIN conversations c"
    "   ON c.id = coalesce(m.conversation_id, (e.payload->>'conversation_id')::uuid)"
    "   WHERE e.type = 'conversation_message_created' AND (e.payload->>'direction' = 'inbound'"
    "   OR (e.payload->>'direction' = 'outbound' AND e.payload->>'agent_id' IS NOT NULL))),"
    # the room's share, under what it was counted, for a deletion to take back
    " shared AS (INSERT INTO report_room_counts (customer_id, conversation_id, slot,"
    "   agent_id, team_id, owner_id, channel, inbound, replies)"
    f"  SELECT $1, room, {SLOT_SQL.format(col='at')}, coalesce(agent, '{NOBODY}'), team,"
    "   owner, channel, sum(inbound), sum(reply) FROM msg WHERE room IS NOT NULL"
    "   GROUP BY 2, 3, 4, 5, 6, 7"
    f"  {_SHARED}),"
    " folded AS (" + _KEEP.format(customer="$1", cells=cells("SELECT * FROM msg")) + _SUMMED + ")"
    " SELECT max(id) AS last, count(*) AS n FROM ev"
)
"""SQL: fold the messages of up to $3 of customer $1's events after id $2, up to its
horizon $4 (core.events.horizons); the last id read and how many."""

TAKE_BACK = (
    "WITH gone AS (DELETE FROM report_room_counts r WHERE r.conversation_id IN"
    "   (SELECT (e.payload->>'id')::uuid FROM events e WHERE e.customer_id = $1"
    "   AND e.id > $2 AND e.id <= $3 AND e.type = 'conversation_deleted')"
    "   RETURNING r.slot AS at, -r.inbound AS inbound, -r.replies AS reply,"
    f"  nullif(r.agent_id, '{NOBODY}') AS agent, r.team_id AS team, r.owner_id AS owner,"
    "   r.channel)" + _KEEP.format(customer="$1", cells=cells("SELECT * FROM gone")) + _SUMMED
)
"""SQL: the shares of the rooms deleted by customer $1's events in ($2, $3] taken back
out of the counts they were counted in (a deleted room counts nowhere; its messages came
before its deletion, so they were folded already, in this batch or before)."""

SHARES = (
    "INSERT INTO report_room_counts (customer_id, conversation_id, slot, agent_id, team_id,"
    " owner_id, channel, inbound, replies)"
    " SELECT s.customer_id, s.conversation_id, s.slot, s.agent_id, c.team_id, c.owner_id,"
    " c.reference_type, s.inbound, s.replies FROM report_slots s JOIN conversations c"
    " ON c.id = s.conversation_id AND c.tm_delete IS NULL AND c.merged_into IS NULL"
    " WHERE s.customer_id = $1"
)
"""SQL: customer $1's rooms that count, their slots as shares under the team, assignee and
channel each room has now: what a recount folds."""

SHARED_CHANGES = (
    "SELECT r.slot AS at, r.inbound, r.replies AS reply,"
    f" nullif(r.agent_id, '{NOBODY}') AS agent, r.team_id AS team, r.owner_id AS owner,"
    " r.channel FROM report_room_counts r WHERE r.customer_id = $1"
)
"""SQL: customer $1's shares as changes (`cells`)."""


async def _fold_batch(customer_id: str, *, wait: bool) -> int | None:
    """One batch in one transaction: the events read, or None when another process is
    folding this customer (and `wait` is false)."""
    folded: int | None = None
    # before the transaction, in a statement of its own: see core.events.horizons
    upto = await horizon(customer_id)
    async with DB.transaction():
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = await sql.fetchval(f"SELECT {lock}($1, hashtext($2))::text", _LOCK_CLASS, customer_id)
        if got != "false":
            cursor = await sql.fetchval(
                "INSERT INTO report_cursors (customer_id) VALUES ($1) ON CONFLICT (customer_id)"
                " DO UPDATE SET customer_id = excluded.customer_id RETURNING event_id",
                customer_id,
            )
            row = await sql.fetchrow(FOLD, customer_id, cursor, BATCH, upto)
            assert row is not None
            folded = int(row["n"])
            if folded:
                await sql.execute(TAKE_BACK, customer_id, cursor, row["last"])
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
    facts and slots (`facts.rebuild`), then the shares of the rooms that count from their
    slots, under the team, assignee and channel each room has now, and the customer's
    counts from the shares, with the cursor at the customer's last event. For data loaded
    in bulk (its events were never folded) and for checks; migrations 0033 and 0035 do the
    same for every customer."""
    upto = await horizon(customer_id)
    async with transaction():
        await sql.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, customer_id
        )
        await facts.rebuild(customer_id)
        await sql.execute("DELETE FROM report_volume WHERE customer_id = $1", customer_id)
        await sql.execute("DELETE FROM report_room_counts WHERE customer_id = $1", customer_id)
        await sql.execute(SHARES, customer_id)
        await sql.execute(_KEEP.format(customer="$1", cells=cells(SHARED_CHANGES)), customer_id)
        await sql.execute(
            "INSERT INTO report_cursors (customer_id, event_id)"
            " VALUES ($1, $2) ON CONFLICT (customer_id) DO UPDATE SET"
            " event_id = excluded.event_id, tm_update = now()",
            customer_id,
            upto,
        )
