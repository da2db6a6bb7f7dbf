"""The SQL of SLA policies, clocks and the facts clocks are recomputed from, as typed rows.

Piccolo's query builder for the policies' admin writes and lists. Plain SQL where a
message or a room change runs it (a customer's live policies, a room's clocks, their
write — on the message path as `WITH` items of the room's own `UPDATE`), for the
worker's claims (`FOR NO KEY UPDATE SKIP LOCKED`), and for a room's history
(docs/ARCHITECTURE.md, "Raw SQL, and why")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from piccolo.columns import Column

from app.conversations.store import RoomRow
from app.core.events import connection
from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import SlaPolicy

_RANK = (
    "CASE WHEN p.priority IS NOT NULL AND p.team_id IS NOT NULL THEN 0"
    " WHEN p.team_id IS NOT NULL THEN 1 WHEN p.priority IS NOT NULL THEN 2 ELSE 3 END"
)
"""Most specific first: priority and team, team only, priority only, neither."""


class PolicyRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    priority: str | None
    team_id: uuid.UUID | None
    business_hours_id: uuid.UUID | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class PolicyChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    priority: str | None | msgspec.UnsetType = msgspec.UNSET
    team_id: str | None | msgspec.UnsetType = msgspec.UNSET
    business_hours_id: str | None | msgspec.UnsetType = msgspec.UNSET
    first_response_minutes: int | None | msgspec.UnsetType = msgspec.UNSET
    next_response_minutes: int | None | msgspec.UnsetType = msgspec.UNSET
    resolution_minutes: int | None | msgspec.UnsetType = msgspec.UNSET


class AppliedPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The policy a room follows, with its calendar's definition and the version of both
    (the later of their `tm_update`s)."""

    id: uuid.UUID
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    business_hours_id: uuid.UUID | None
    time_zone: str | None
    periods: str | None
    holidays: str | None
    version: datetime


class ClockRow(msgspec.Struct, frozen=True, kw_only=True):
    """An `sla_clocks` row."""

    id: int
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    policy_id: uuid.UUID
    kind: str
    status: str
    started_at: datetime
    due_at: datetime | None
    stopped_at: datetime | None
    warned_at: datetime | None
    target_seconds: int
    elapsed_seconds: float
    resumed_at: datetime | None
    warn_at: datetime | None
    done_at: datetime | None
    cycle: int


class NewClock(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """A clock as the fold left it: what its `sla_clocks` row holds besides its keys, and
    one item of the room's copy of its clocks (`conversations.sla_state`), which stores it
    as a JSON array of these fields in this order (migration 0034 writes the same): new
    fields go at the end, with a default."""

    policy_id: str
    kind: str
    status: str
    started_at: datetime
    due_at: datetime | None
    stopped_at: datetime | None
    warned_at: datetime | None
    target_seconds: int
    elapsed_seconds: float
    resumed_at: datetime | None
    warn_at: datetime | None
    done_at: datetime | None
    cycle: int


class RoomSla(msgspec.Struct, frozen=True, kw_only=True):
    """What a room's row says about its clocks."""

    policy_id: str | None
    policy_tm: datetime | None
    kind: str | None
    status: str | None
    due_at: datetime | None
    turn: str | None


class MessageFact(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    inbound: bool


class FactRow(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    kind: str
    detail: str


_CLOCK = ", ".join(ClockRow.__struct_fields__)

_STATE = msgspec.json.Decoder(list[NewClock])
_ENCODE = msgspec.json.Encoder()


def state_of(sla_state: str | None) -> list[NewClock]:
    """A room's clocks from its own row (`RoomRow.sla_state`): the copy of its
    `sla_clocks` rows that every write of them keeps (the message path reads nothing
    more)."""
    return _STATE.decode(sla_state) if sla_state else []


def state_json(clocks: list[NewClock]) -> str | None:
    """The room's `sla_state` for these clocks (None: it has none)."""
    return _ENCODE.encode(clocks).decode() if clocks else None


def next_at(clocks: list[NewClock] | list[ClockRow]) -> datetime | None:
    """When the worker must next look at the room (`conversations.sla_next_at`): the
    earliest due time of its running clocks, or warning time of those not yet warned;
    None: never by itself."""
    times = []
    for c in clocks:
        if c.status == "running":
            if c.due_at is not None:
                times.append(c.due_at)
            if c.warned_at is None and c.warn_at is not None:
                times.append(c.warn_at)
    return min(times) if times else None


_ROOM_COLUMNS = ", ".join(RoomRow.__struct_fields__)


def _room(record: Any) -> RoomRow:
    return RoomRow(**{f: record[f] for f in RoomRow.__struct_fields__})


_APPLIED = (
    "SELECT p.id, p.first_response_minutes, p.next_response_minutes, p.resolution_minutes,"
    " p.business_hours_id, b.time_zone, b.periods::text AS periods, b.holidays::text AS holidays,"
    " greatest(p.tm_update, coalesce(b.tm_update, p.tm_update)) AS version"
    " FROM sla_policies p LEFT JOIN business_hours b"
    " ON b.id = p.business_hours_id AND b.customer_id = p.customer_id"
)


# --- policies ------------------------------------------------------------------------------


async def insert(customer_id: str, **values: Any) -> PolicyRow:
    return await typed.inserted(PolicyRow, SlaPolicy(customer_id=customer_id, **values))


async def live(customer_id: str, policy_id: str) -> PolicyRow | None:
    return await typed.live(SlaPolicy, PolicyRow, customer_id, policy_id)


async def locked(customer_id: str, policy_id: str) -> PolicyRow | None:
    """The live policy, locked until the transaction ends (two edits serialize, so each
    event carries the state it made)."""
    return await sql.fetchrow_as(
        PolicyRow,
        f"SELECT {', '.join(PolicyRow.__struct_fields__)} FROM sla_policies"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL FOR UPDATE",
        policy_id,
        customer_id,
    )


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[PolicyRow], str]:
    t = SlaPolicy
    where = [t.customer_id == customer_id, t.tm_delete.is_null()]
    return await keyset_page_as(PolicyRow, t, where, page_size, page_token)


async def all_live(customer_id: str) -> list[PolicyRow]:
    """Every live policy, in the order rooms are matched to them (the admin page)."""
    columns = ", ".join(f"p.{f}" for f in PolicyRow.__struct_fields__)
    return await sql.fetch_as(
        PolicyRow,
        f"SELECT {columns} FROM sla_policies p WHERE p.customer_id = $1 AND p.tm_delete IS NULL"
        f" ORDER BY {_RANK}, p.tm_create, p.id",
        customer_id,
    )


async def update(policy_id: uuid.UUID, changes: PolicyChanges, at: datetime) -> PolicyRow:
    values = {**typed.values(SlaPolicy, changes), SlaPolicy.tm_update: at}
    return await typed.updated(SlaPolicy, PolicyRow, policy_id, values)


async def soft_delete(policy_id: uuid.UUID, at: datetime) -> PolicyRow:
    values: dict[Column | str, Any] = {SlaPolicy.tm_delete: at, SlaPolicy.tm_update: at}
    return await typed.updated(SlaPolicy, PolicyRow, policy_id, values)


async def team_exists(customer_id: str, team_id: str) -> bool:
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM teams WHERE id = $1::uuid AND customer_id = $2::uuid"
            " AND tm_delete IS NULL",
            team_id,
            customer_id,
        )
    )


async def business_hours_exists(customer_id: str, business_hours_id: str) -> bool:
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM business_hours WHERE id = $1::uuid AND customer_id = $2::uuid"
            " AND tm_delete IS NULL",
            business_hours_id,
            customer_id,
        )
    )


async def names(customer_id: str) -> dict[str, str]:
    """Every policy's name by id, deleted ones too (a clock may name one)."""
    rows = await sql.fetch("SELECT id, name FROM sla_policies WHERE customer_id = $1", customer_id)
    return {str(r["id"]): r["name"] for r in rows}


# --- what a room follows ---------------------------------------------------------------------


class LivePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A live policy as rooms are matched to it, with its calendar (AppliedPolicy)."""

    priority: str | None
    team_id: uuid.UUID | None
    applied: AppliedPolicy


async def live_policies(customer_id: Any) -> list[LivePolicy]:
    """The customer's live policies in the order rooms are matched to them: the most
    specific first (priority and team, team, priority, neither), the oldest among equals
    (index `sla_policies_live`)."""
    fields = AppliedPolicy.__struct_fields__
    rows = await sql.fetch(
        f"{_APPLIED.replace('SELECT ', 'SELECT p.priority, p.team_id, ', 1)}"
        " WHERE p.customer_id = $1 AND p.tm_delete IS NULL"
        f" ORDER BY {_RANK}, p.tm_create, p.id",
        customer_id,
    )
    return [
        LivePolicy(
            priority=r["priority"],
            team_id=r["team_id"],
            applied=AppliedPolicy(**{f: r[f] for f in fields}),
        )
        for r in rows
    ]


async def policy_by_id(policy_id: Any) -> AppliedPolicy | None:
    """A policy as a room follows it, deleted or not."""
    return await sql.fetchrow_as(AppliedPolicy, f"{_APPLIED} WHERE p.id = $1::uuid", policy_id)


async def clocks(conversation_id: Any) -> list[ClockRow]:
    """A room's clocks. Their writers hold the room's lock (the message path, the room's
    changes, and the worker, which takes the room with the clock): no lock of their own."""
    return await sql.fetch_as(
        ClockRow,
        f"SELECT {_CLOCK} FROM sla_clocks WHERE conversation_id = $1 ORDER BY kind",
        conversation_id,
    )


async def clocks_of_rooms(conversation_ids: list[Any]) -> dict[str, list[ClockRow]]:
    rows = await sql.fetch_as(
        ClockRow,
        f"SELECT {_CLOCK} FROM sla_clocks WHERE conversation_id = ANY($1::uuid[])",
        [str(i) for i in conversation_ids],
    )
    found: dict[str, list[ClockRow]] = {}
    for row in rows:
        found.setdefault(str(row.conversation_id), []).append(row)
    return found


def clocks_write(
    customer_id: Any, conversation_id: Any, clocks: list[NewClock], gone: list[str], at: datetime
) -> Callable[[int], tuple[str, list[Any]]]:
    """The write of these clocks of the room (insert or replace, by kind; the kinds in
    `gone` dropped) as `WITH` items of another statement: given its first free parameter
    number, their SQL and parameters (the message path runs them with the room's own
    `UPDATE`: conversations.store.record_message). The clocks go as one JSON parameter:
    an array parameter per column cost the driver more to encode than PostgreSQL to
    store them."""

    def items(first: int) -> tuple[str, list[Any]]:
        n = [f"${first + i}" for i in range(5)]
        sql_text = ""
        args = [customer_id, conversation_id, at, _ENCODE.encode(clocks).decode()]
        if gone:  # a kind the policy no longer has a target for (rare)
            sql_text = (
                f"sla_gone AS (DELETE FROM sla_clocks WHERE conversation_id = {n[1]}::uuid"
                f"   AND kind = ANY({n[4]}::text[])),"
            )
            args.append(gone)
        # each clock a JSON array of NewClock's fields, in order
        sql_text += (
            " sla_kept AS (INSERT INTO sla_clocks (customer_id, conversation_id, policy_id,"
            "   kind, status, started_at, due_at, stopped_at, warned_at, target_seconds,"
            "   elapsed_seconds, resumed_at, warn_at, done_at, cycle, tm_update)"
            f" SELECT {n[0]}::uuid, {n[1]}::uuid, (c->>0)::uuid, c->>1, c->>2,"
            "   (c->>3)::timestamptz, (c->>4)::timestamptz, (c->>5)::timestamptz,"
            "   (c->>6)::timestamptz, (c->>7)::int, (c->>8)::float8, (c->>9)::timestamptz,"
            f"   (c->>10)::timestamptz, (c->>11)::timestamptz, (c->>12)::int, {n[2]}::timestamptz"
            f" FROM jsonb_array_elements({n[3]}::jsonb) AS c"
            " ON CONFLICT (conversation_id, kind) DO UPDATE SET policy_id = excluded.policy_id,"
            "   status = excluded.status, started_at = excluded.started_at,"
            "   due_at = excluded.due_at, stopped_at = excluded.stopped_at,"
            "   warned_at = excluded.warned_at, target_seconds = excluded.target_seconds,"
            "   elapsed_seconds = excluded.elapsed_seconds, resumed_at = excluded.resumed_at,"
            "   warn_at = excluded.warn_at, done_at = excluded.done_at, cycle = excluded.cycle,"
            "   tm_update = excluded.tm_update)"
        )
        return sql_text, args

    return items


async def run_with(items: str, args: list[Any]) -> None:
    """`WITH` items (`clocks_write`'s) as a statement of their own."""
    await connection().execute(f"WITH {items} SELECT 1", *args)


async def set_room(conversation_id: Any, room: RoomSla, clocks: list[NewClock]) -> RoomRow:
    """The room's SLA columns, its copy of its clocks and the worker's time (a change other
    than a message: the message path writes them with the message's own `UPDATE`); the
    room as it now is."""
    record = await connection().fetchrow(
        "UPDATE conversations SET sla_policy_id = $2::uuid, sla_policy_tm = $3, sla_kind = $4,"
        " sla_status = $5, sla_due_at = $6, sla_turn = $7, sla_state = $8, sla_next_at = $9"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        conversation_id,
        room.policy_id,
        room.policy_tm,
        room.kind,
        room.status,
        room.due_at,
        room.turn,
        state_json(clocks),
        next_at(clocks),
    )
    return _room(record)


async def set_turn(conversation_id: Any) -> RoomRow:
    """The room's `sla_turn` from its last counted message (after a merge moved messages
    in or out of a room without clocks), and when that turn began (`tm_turn`: the first
    of that side's messages since the other side's last); the room as it now is."""
    record = await connection().fetchrow(
        "WITH counted AS (SELECT CASE WHEN m.direction = 'inbound' THEN 'customer'"
        " ELSE 'agent' END AS side, m.tm_create, m.id FROM messages m"
        " WHERE m.conversation_id = $1 AND m.tm_delete IS NULL AND (m.direction = 'inbound'"
        " OR (m.agent_id IS NOT NULL AND m.status NOT IN ('scheduled', 'canceled')))),"
        " last AS (SELECT side FROM counted ORDER BY tm_create DESC, id DESC LIMIT 1),"
        " other AS (SELECT max(tm_create) AS at FROM counted"
        "  WHERE side <> (SELECT side FROM last))"
        " UPDATE conversations SET sla_turn = (SELECT side FROM last),"
        " tm_turn = (SELECT min(tm_create) FROM counted WHERE side = (SELECT side FROM last)"
        "  AND tm_create > coalesce((SELECT at FROM other), '-infinity'))"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        conversation_id,
    )
    return _room(record)


async def insert_fact(
    customer_id: Any, conversation_id: Any, at: datetime, kind: str, detail: dict[str, Any]
) -> None:
    await connection().execute(
        "INSERT INTO sla_facts (customer_id, conversation_id, at, kind, detail)"
        " VALUES ($1, $2, $3, $4, $5::jsonb)",
        customer_id,
        conversation_id,
        at,
        kind,
        msgspec.json.encode(detail).decode(),
    )


async def history(conversation_id: Any) -> tuple[list[MessageFact], list[FactRow]]:
    """A room's counted messages (every customer message; agents' replies once they went
    out) and its recorded changes, each in time order."""
    messages = await sql.fetch_as(
        MessageFact,
        "SELECT tm_create AS at, direction = 'inbound' AS inbound FROM messages"
        " WHERE conversation_id = $1 AND tm_delete IS NULL"
        " AND (direction = 'inbound' OR (agent_id IS NOT NULL"
        " AND status NOT IN ('scheduled', 'canceled')))"
        " ORDER BY tm_create, id",
        conversation_id,
    )
    facts = await sql.fetch_as(
        FactRow,
        "SELECT at, kind, detail::text AS detail FROM sla_facts WHERE conversation_id = $1"
        " ORDER BY at, id",
        conversation_id,
    )
    return messages, facts


# --- the worker --------------------------------------------------------------------------------


async def lock_due(at: datetime, limit: int) -> list[RoomRow]:
    """Rooms whose clocks need the worker at or before `at` (a due time, or a warning time
    not yet warned: `sla_next_at`), soonest first, locked; rooms another transaction
    holds are skipped (a room being changed right now is taken at the next round). The
    room's lock covers its clocks (every writer of them holds it), and the condition is
    on the locked row itself, so a room another worker changed while this one waited is
    checked as it now is."""
    records = await connection().fetch(
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE sla_next_at <= $1"
        " AND tm_delete IS NULL ORDER BY sla_next_at, id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED",
        at,
        limit,
    )
    return [_room(r) for r in records]


async def mark(
    conversation_id: Any, kind: str, *, warned_at: datetime | None, breached: bool
) -> None:
    """The worker's change: the warning given, or the breach (at its due time)."""
    await connection().execute(
        "UPDATE sla_clocks SET warned_at = coalesce(warned_at, $3),"
        " status = CASE WHEN $4 THEN 'breached' ELSE status END,"
        " stopped_at = CASE WHEN $4 THEN due_at ELSE stopped_at END,"
        " tm_update = coalesce($3, tm_update) WHERE conversation_id = $1 AND kind = $2",
        conversation_id,
        kind,
        warned_at,
        breached,
    )


async def set_summary(conversation_id: Any, room: RoomSla, clocks: list[NewClock]) -> RoomRow:
    """The room's summary, its copy of its clocks and the worker's next time for it (the
    worker, after a warning or a breach); the room as it is."""
    record = await connection().fetchrow(
        "UPDATE conversations SET sla_kind = $2, sla_status = $3, sla_due_at = $4,"
        f" sla_state = $5, sla_next_at = $6 WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        conversation_id,
        room.kind,
        room.status,
        room.due_at,
        state_json(clocks),
        next_at(clocks),
    )
    return _room(record)


async def team_members(team_id: Any) -> list[str]:
    """A team's members (who hears of an unassigned room's warning and breach)."""
    rows = await sql.fetch(
        "SELECT m.agent_id FROM team_members m JOIN agents a ON a.id = m.agent_id"
        " WHERE m.team_id = $1 AND a.tm_delete IS NULL AND a.status = 'active'"
        " ORDER BY m.agent_id",
        team_id,
    )
    return [str(r["agent_id"]) for r in rows]


async def calendars(customer_id: str) -> dict[str, str]:
    """The customer's live calendars' names by id (the admin page's choice)."""
    rows = await sql.fetch(
        "SELECT id, name FROM business_hours WHERE customer_id = $1 AND tm_delete IS NULL"
        " ORDER BY lower(name), id",
        customer_id,
    )
    return {str(r["id"]): r["name"] or "Unnamed calendar" for r in rows}
