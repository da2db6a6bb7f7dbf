"""The reports' SQL over the kept facts (app/reports/facts.py): each figure one statement,
answered from an index range of the period (rooms by creation or close time, slots by
time, clocks by stop time, responses by time) with the filters on the room's own row.
Typed rows out. `scratch.py` answers the same functions from the base tables.

Plain SQL: aggregates with `percentile_cont`, `AT TIME ZONE`, `FILTER`, `LATERAL`, none of
which the query builder says (docs/ARCHITECTURE.md, "Raw SQL, and why").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from app.db import sql
from app.reports import volume
from app.reports.facts import NOBODY, SLOT
from app.reports.scope import Scope, days_of, midnight

# --- rows --------------------------------------------------------------------------------


class DayCount(msgspec.Struct, frozen=True):
    day: date
    count: int


class Spread(msgspec.Struct, frozen=True):
    """How many durations, and their median and 90th percentile in seconds."""

    count: int
    median: float | None
    p90: float | None


class SlaCount(msgspec.Struct, frozen=True):
    policy_id: uuid.UUID
    name: str | None
    """None: a policy no longer stored."""
    kind: str
    met: int
    breached: int


class RatingCount(msgspec.Struct, frozen=True):
    rating: int
    count: int


class HourCount(msgspec.Struct, frozen=True):
    dow: int
    """0 = Monday."""
    hour: int
    inbound: int
    replies: int


class AgentCount(msgspec.Struct, frozen=True):
    agent_id: uuid.UUID
    count: int


class AgentSpread(msgspec.Struct, frozen=True):
    agent_id: uuid.UUID
    count: int
    median: float | None


class AgentRatings(msgspec.Struct, frozen=True):
    agent_id: uuid.UUID
    rating: int
    count: int


class RoomFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A room as the per-conversation table shows it."""

    id: uuid.UUID
    name: str
    reference_type: str
    status: str
    priority: str
    team_id: uuid.UUID | None
    team_name: str | None
    owner_id: uuid.UUID | None
    owner_name: str | None
    tm_create: datetime
    tm_first_inbound: datetime | None
    tm_first_reply: datetime | None
    first_reply_agent_id: uuid.UUID | None
    first_reply_agent_name: str | None
    tm_closed: datetime | None
    inbound: int
    replies: int
    sla_policy: str | None
    sla_first_response: str | None
    sla_next_response: str | None
    sla_resolution: str | None
    csat_rating: int | None
    csat_comment: str | None


# --- statements ----------------------------------------------------------------------------


class Params:
    """Positional parameters as a statement is written: `p(value)` is its `$n`."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def rooms_where(scope: Scope, p: Params, alias: str = "c") -> str:
    """SQL: the room `alias` counts in the report: the customer's, live, not merged away,
    and of the filters' team, assignee and channel."""
    where = [
        f"{alias}.customer_id = {p(scope.customer_id)}",
        f"{alias}.tm_delete IS NULL",
        f"{alias}.merged_into IS NULL",
    ]
    if scope.team_id:
        where.append(f"{alias}.team_id = {p(scope.team_id)}::uuid")
    if scope.owner_id:
        where.append(f"{alias}.owner_id = {p(scope.owner_id)}::uuid")
    if scope.reference_type:
        where.append(f"{alias}.reference_type = {p(scope.reference_type)}")
    return " AND ".join(where)


def within(column: str, scope: Scope, p: Params) -> str:
    return f"{column} >= {p(scope.start)} AND {column} < {p(scope.end)}"


def local(column: str, scope: Scope, p: Params) -> str:
    """SQL: `column` as a wall-clock time in the report's time zone."""
    return f"({column} AT TIME ZONE {p(scope.time_zone)})"


def local_day(column: str, scope: Scope, p: Params) -> str:
    """SQL: the date in the report's time zone of `column`, a time in the period: found
    among the period's local midnights (`width_bucket`, a binary search over at most 367
    times) rather than by `AT TIME ZONE` on every row, which looks the zone up each time
    (0.1 s of CPU over a year's 100,000 rooms, docs/PERFORMANCE.md)."""
    days = days_of(scope.start, scope.end, scope.zone)
    bounds = [midnight(day, scope.zone) for day in days]
    return f"({p(days)}::date[])[width_bucket({column}, {p(bounds)}::timestamptz[])]"


class Opened(msgspec.Struct, frozen=True):
    """The rooms opened in the period: per local day, per agent holding them, and their
    first responses (all, and per agent who gave them)."""

    days: list[DayCount]
    owners: list[AgentCount]
    first_response: Spread
    repliers: list[AgentSpread]


class Closed(msgspec.Struct, frozen=True):
    """The rooms closed in the period: per local day, per agent holding them, and their
    resolution times."""

    days: list[DayCount]
    owners: list[AgentCount]
    resolution: Spread


def rooms(scope: Scope, p: Params) -> str:
    """SQL: the report's rooms with their facts, as a relation aliased `c`."""
    return f"(SELECT * FROM conversations c WHERE {rooms_where(scope, p)}) c"


_DAYS = (
    "SELECT 'day' AS kind, day::text AS key, count(*) AS n, NULL::float8[] AS pc"
    " FROM r GROUP BY day"
)
_ALL = (
    "SELECT 'all' AS kind, NULL AS key, count(secs) AS n,"
    " (percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY secs))::float8[] AS pc"
    " FROM r WHERE secs IS NOT NULL"
)
_OWNERS = (
    "SELECT 'owner' AS kind, owner_id::text AS key, count(*) AS n, NULL::float8[] AS pc FROM r"
    " WHERE owner_id IS NOT NULL{only} GROUP BY owner_id"
)
_REPLIERS = (
    "SELECT 'agent' AS kind, agent::text AS key, count(*) AS n,"
    " ARRAY[percentile_cont(0.5) WITHIN GROUP (ORDER BY secs)]::float8[] AS pc"
    " FROM r WHERE secs IS NOT NULL{only} GROUP BY agent"
)


async def _grouped(query: str, values: list[Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {"day": [], "owner": [], "all": [], "agent": []}
    for record in await sql.fetch(query, *values):
        found[record["kind"]].append(record)
    return found


def _agent_filter(column: str, scope: Scope, p: Params) -> str:
    return f" AND {column} = {p(scope.agent_id)}::uuid" if scope.agent_id else ""


async def opened(
    scope: Scope,
    source: str | None = None,
    params: Params | None = None,
    *,
    per_agent: bool = False,
) -> Opened:
    """One pass over the rooms opened in the period (an index range of their creation
    time): per day and in all, or (`per_agent`) per agent holding them and per agent who
    gave their first response. `source` (with its `params`): the rooms relation to read
    instead (scratch.py's, counted from the messages)."""
    p = params or Params()
    relation = source if source is not None else rooms(scope, p)
    parts = (
        [_OWNERS.format(only=_agent_filter("owner_id", scope, p)),
         _REPLIERS.format(only=_agent_filter("agent", scope, p))]
        if per_agent else [_DAYS, _ALL]
    )  # fmt: skip
    query = (
        f"WITH r AS MATERIALIZED (SELECT {local_day('c.tm_create', scope, p)} AS day,"
        " c.owner_id, c.first_reply_agent_id AS agent,"
        " extract(epoch FROM c.tm_first_reply - c.tm_first_inbound)::float8 AS secs"
        f" FROM {relation} WHERE {within('c.tm_create', scope, p)}) " + " UNION ALL ".join(parts)
    )
    found = await _grouped(query, p.values)
    return Opened(
        days=[DayCount(day=date.fromisoformat(r["key"]), count=r["n"]) for r in found["day"]],
        owners=[AgentCount(agent_id=uuid.UUID(r["key"]), count=r["n"]) for r in found["owner"]],
        first_response=_spread(found["all"]),
        repliers=[
            AgentSpread(agent_id=uuid.UUID(r["key"]), count=r["n"], median=r["pc"][0])
            for r in found["agent"]
        ],
    )


async def closed(
    scope: Scope,
    source: str | None = None,
    params: Params | None = None,
    *,
    per_agent: bool = False,
) -> Closed:
    """One pass over the rooms closed in the period (an index range of their close time):
    per day and their resolution times, or (`per_agent`) per agent holding them."""
    p = params or Params()
    relation = source if source is not None else rooms(scope, p)
    parts = [_OWNERS.format(only=_agent_filter("owner_id", scope, p))] if per_agent else [
        _DAYS, _ALL
    ]  # fmt: skip
    query = (
        f"WITH r AS MATERIALIZED (SELECT {local_day('c.tm_closed', scope, p)} AS day,"
        " c.owner_id, extract(epoch FROM c.tm_closed - c.tm_create)::float8 AS secs"
        f" FROM {relation} WHERE {within('c.tm_closed', scope, p)}) " + " UNION ALL ".join(parts)
    )
    found = await _grouped(query, p.values)
    return Closed(
        days=[DayCount(day=date.fromisoformat(r["key"]), count=r["n"]) for r in found["day"]],
        owners=[AgentCount(agent_id=uuid.UUID(r["key"]), count=r["n"]) for r in found["owner"]],
        resolution=_spread(found["all"]),
    )


def _spread(records: list[Any]) -> Spread:
    if not records:
        return Spread(count=0, median=None, p90=None)
    pc = records[0]["pc"]
    return Spread(count=records[0]["n"], median=pc[0] if pc else None, p90=pc[1] if pc else None)


def filtered(scope: Scope) -> bool:
    """Whether the report narrows the rooms (a team, an assignee, a channel): then its
    figures join each record to its room; else they only leave out the few rooms gone."""
    return bool(scope.team_id or scope.owner_id or scope.reference_type)


def counted_room(column: str, scope: Scope, p: Params) -> str:
    """SQL: the room `column` names is in the report. Unfiltered, an anti-join with the
    rooms reports leave out (a small partial index), not a join with every room."""
    if filtered(scope):
        return (
            f"EXISTS (SELECT 1 FROM conversations c WHERE c.id = {column}"
            f" AND {rooms_where(scope, p)})"
        )
    return (
        f"NOT EXISTS (SELECT 1 FROM conversations x WHERE x.id = {column}"
        f" AND x.customer_id = {p(scope.customer_id)}"
        " AND (x.tm_delete IS NOT NULL OR x.merged_into IS NOT NULL))"
    )


async def sla(scope: Scope) -> list[SlaCount]:
    """Clocks met or breached in the period, per policy and kind."""
    p = Params()
    query = (
        "SELECT k.policy_id, max(sp.name) AS name, k.kind,"
        " count(*) FILTER (WHERE k.status = 'met') AS met,"
        " count(*) FILTER (WHERE k.status = 'breached') AS breached"
        " FROM sla_clocks k LEFT JOIN sla_policies sp ON sp.id = k.policy_id"
        f" WHERE k.customer_id = {p(scope.customer_id)} AND k.stopped_at IS NOT NULL"
        f" AND {within('k.stopped_at', scope, p)} AND k.status IN ('met', 'breached')"
        f" AND {counted_room('k.conversation_id', scope, p)}"
        " GROUP BY k.policy_id, k.kind"
    )
    return await sql.fetch_as(SlaCount, query, *p.values)


async def csat(scope: Scope) -> list[RatingCount]:
    """Survey answers given in the period, per rating."""
    p = Params()
    query = (
        "SELECT r.rating, count(*) AS count FROM csat_responses r"
        f" WHERE r.customer_id = {p(scope.customer_id)} AND {within('r.tm_create', scope, p)}"
        f" AND {counted_room('r.conversation_id', scope, p)} GROUP BY r.rating"
    )
    return await sql.fetch_as(RatingCount, query, *p.values)


async def csat_by_agent(scope: Scope) -> list[AgentRatings]:
    """Survey answers given in the period, per agent rated and rating."""
    p = Params()
    query = (
        "SELECT r.agent_id, r.rating, count(*) AS count FROM csat_responses r"
        f" WHERE r.customer_id = {p(scope.customer_id)} AND {within('r.tm_create', scope, p)}"
        f" AND r.agent_id IS NOT NULL{_agent_filter('r.agent_id', scope, p)}"
        f" AND {counted_room('r.conversation_id', scope, p)} GROUP BY 1, 2"
    )
    return await sql.fetch_as(AgentRatings, query, *p.values)


def room_slots(scope: Scope, p: Params) -> str:
    """SQL: the slots `s` of the period of the report's rooms. Only rooms active since the
    period began and opened before it ended can hold any (an index range of activity), so
    a short period reads the slots of a few rooms; over a long one PostgreSQL meets the
    filter's rooms with the period's slots in a hash join."""
    return (
        f"(SELECT c.id FROM conversations c WHERE {rooms_where(scope, p)}"
        f" AND c.tm_activity >= {p(scope.start)}"
        f" AND c.tm_create < {p(scope.end + SLOT)}) c"
        " CROSS JOIN LATERAL (SELECT s.slot, s.agent_id, s.inbound, s.replies"
        " FROM report_slots s WHERE s.conversation_id = c.id"
        f" AND {within('s.slot', scope, p)}) s"
    )


def _heat(counts: str, scope: Scope, p: Params) -> str:
    """SQL: per local weekday and hour, from `counts` (slot, inbound, replies): summed per
    slot first, so each quarter hour is converted to local time once."""
    at = local("slot", scope, p)
    return (
        f"SELECT extract(isodow FROM {at})::int - 1 AS dow, extract(hour FROM {at})::int AS hour,"
        " sum(inbound)::int AS inbound, sum(replies)::int AS replies"
        f" FROM ({counts}) q GROUP BY 1, 2"
    )


def _kept(dimension: str, key: str, p: Params) -> str:
    """SQL: the customer's counts `v` of one dimension and value (app/reports/volume.py)."""
    return f"v.dimension = {p(dimension)} AND v.dimension_key = {p(key)}"


async def hours(scope: Scope) -> list[HourCount]:
    """Customer messages and agent replies per local weekday and hour, from the quarter
    hours that start in the period: the customer's counts (app/reports/volume.py, folded
    up to now by the caller), its own or its team's, assignee's or channel's; under two
    filters or more, the slots of the rooms that match them now."""
    p = Params()
    kept = volume.kept_for(scope, by_agent=False)
    if kept is None:
        counts = (
            "SELECT s.slot, sum(s.inbound) AS inbound, sum(s.replies) AS replies"
            f" FROM {room_slots(scope, p)} GROUP BY s.slot"
        )
    else:
        counts = (
            "SELECT v.start AS slot, v.inbound, v.replies FROM report_volume v"
            f" WHERE v.customer_id = {p(scope.customer_id)} AND {_kept(*kept, p)}"
            f" AND v.span = 'q' AND v.agent_id = '{NOBODY}' AND {within('v.start', scope, p)}"
        )
    return await sql.fetch_as(HourCount, _heat(counts, scope, p), *p.values)


async def replies_by_agent(scope: Scope) -> list[AgentCount]:
    """Replies sent in the period, per agent: from the customer's counts, its own or its
    team's or channel's (the whole UTC days inside the period, quarter hours at its
    edges); otherwise from the slots of the rooms that match the filters now."""
    p = Params()
    kept = volume.kept_for(scope, by_agent=True)
    if kept is None:
        query = (
            f"SELECT s.agent_id, sum(s.replies)::int AS count FROM {room_slots(scope, p)}"
            f" WHERE s.agent_id <> '{NOBODY}'{_agent_filter('s.agent_id', scope, p)}"
            " GROUP BY 1 HAVING sum(s.replies) <> 0"
        )
        return await sql.fetch_as(AgentCount, query, *p.values)
    lo, hi = whole_days(scope.start, scope.end)
    if lo >= hi:  # no whole day: quarter hours only
        lo = hi = scope.end
    customer, agent = p(scope.customer_id), _agent_filter("v.agent_id", scope, p)
    which = _kept(*kept, p)
    ranges = [("d", p(lo), p(hi)), ("q", p(scope.start), p(lo)), ("q", p(hi), p(scope.end))]
    parts = [
        "SELECT v.agent_id, v.replies FROM report_volume v"
        f" WHERE v.customer_id = {customer} AND {which} AND v.span = '{span}'"
        f" AND v.start >= {lo_} AND v.start < {hi_} AND v.agent_id <> '{NOBODY}'{agent}"
        for span, lo_, hi_ in ranges
    ]
    query = (
        "SELECT agent_id, sum(replies)::int AS count FROM ("
        + " UNION ALL ".join(parts)
        + ") v GROUP BY 1 HAVING sum(replies) <> 0"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first UTC midnight at or after `start` and the last at or before `end`."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(days=1)
    last = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return first, last


# --- the rooms behind a figure, and the per-conversation table ------------------------------


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """Which rooms a number of the report counted (the desk links every number here)."""

    kind: str
    """opened | closed | first_response | sla | csat | messages | replied"""
    day: date | None = None
    """opened, closed: on this local day."""
    policy_id: str | None = None
    clock: str | None = None
    """sla: first_response | next_response | resolution."""
    outcome: str | None = None
    """sla: met | breached."""
    rating: int | None = None
    dow: int | None = None
    hour: int | None = None
    by_agent: str | None = None
    """first_response: who gave it; replied: who replied; csat: who was rated."""


FIGURES = ("opened", "closed", "first_response", "sla", "csat", "messages", "replied")

_ROOM_FACTS = (
    "SELECT c.id, c.name, c.reference_type, c.status, c.priority, c.team_id,"
    " t.name AS team_name, c.owner_id, nullif(coalesce(nullif(o.name, ''), o.username), '')"
    " AS owner_name, c.tm_create, c.tm_first_inbound, c.tm_first_reply,"
    " c.first_reply_agent_id, nullif(coalesce(nullif(f.name, ''), f.username), '')"
    " AS first_reply_agent_name, c.tm_closed,"
    " coalesce(n.inbound, 0)::int AS inbound, coalesce(n.replies, 0)::int AS replies,"
    " k.policy AS sla_policy, k.first_response AS sla_first_response,"
    " k.next_response AS sla_next_response, k.resolution AS sla_resolution,"
    " r.rating::int AS csat_rating, r.comment AS csat_comment"
    " FROM conversations c"
    " LEFT JOIN teams t ON t.id = c.team_id"
    " LEFT JOIN agents o ON o.id = c.owner_id"
    " LEFT JOIN agents f ON f.id = c.first_reply_agent_id"
    " LEFT JOIN LATERAL (SELECT sum(s.inbound) AS inbound,"
    f"   sum(s.replies) FILTER (WHERE s.agent_id <> '{NOBODY}') AS replies"
    "   FROM report_slots s WHERE s.conversation_id = c.id) n ON true"
    " LEFT JOIN LATERAL (SELECT max(sp.name) AS policy,"
    "   max(k.status) FILTER (WHERE k.kind = 'first_response') AS first_response,"
    "   max(k.status) FILTER (WHERE k.kind = 'next_response') AS next_response,"
    "   max(k.status) FILTER (WHERE k.kind = 'resolution') AS resolution"
    "   FROM sla_clocks k LEFT JOIN sla_policies sp ON sp.id = k.policy_id"
    "   WHERE k.conversation_id = c.id) k ON true"
    " LEFT JOIN csat_responses r ON r.conversation_id = c.id"
)


def _figure_where(scope: Scope, figure: Figure, p: Params) -> str:
    k = figure.kind
    if k in ("opened", "closed", "first_response"):
        column = "c.tm_closed" if k == "closed" else "c.tm_create"
        where = within(column, scope, p)
        if figure.day is not None:
            where += f" AND {local(column, scope, p)}::date = {p(figure.day)}"
        if k == "first_response":
            where += " AND c.tm_first_reply IS NOT NULL"
            if figure.by_agent:
                where += f" AND c.first_reply_agent_id = {p(figure.by_agent)}::uuid"
        return where
    if k == "sla":
        where = (
            "EXISTS (SELECT 1 FROM sla_clocks k WHERE k.conversation_id = c.id"
            f" AND k.stopped_at IS NOT NULL AND {within('k.stopped_at', scope, p)}"
            " AND k.status IN ('met', 'breached')"
        )
        if figure.policy_id:
            where += f" AND k.policy_id = {p(figure.policy_id)}::uuid"
        if figure.clock:
            where += f" AND k.kind = {p(figure.clock)}"
        if figure.outcome:
            where += f" AND k.status = {p(figure.outcome)}"
        return where + ")"
    if k == "csat":
        where = (
            "EXISTS (SELECT 1 FROM csat_responses r WHERE r.conversation_id = c.id"
            f" AND {within('r.tm_create', scope, p)}"
        )
        if figure.rating is not None:
            where += f" AND r.rating = {p(figure.rating)}"
        if figure.by_agent:
            where += f" AND r.agent_id = {p(figure.by_agent)}::uuid"
        return where + ")"
    # messages, replied: rooms with such messages in a slot of the period; under one
    # filter, those counted under it (their shares, app/reports/volume.py), as the figure
    named = volume.filters_of(scope)
    if len(named) == 1:
        ((dimension, key),) = named
        column = {"team": "team_id", "owner": "owner_id", "channel": "channel"}[dimension]
        where = (
            "EXISTS (SELECT 1 FROM report_room_counts s WHERE s.conversation_id = c.id"
            f" AND s.{column}::text = {p(key)} AND {within('s.slot', scope, p)}"
        )
    else:
        where = (
            "EXISTS (SELECT 1 FROM report_slots s WHERE s.conversation_id = c.id"
            f" AND {within('s.slot', scope, p)}"
        )
    if k == "messages":
        where += " AND s.inbound > 0"
    else:
        where += f" AND s.replies > 0 AND s.agent_id <> '{NOBODY}'"
        if figure.by_agent:
            where += f" AND s.agent_id = {p(figure.by_agent)}::uuid"
    if figure.dow is not None:
        where += f" AND extract(isodow FROM {local('s.slot', scope, p)})::int = {p(figure.dow + 1)}"
    if figure.hour is not None:
        where += f" AND extract(hour FROM {local('s.slot', scope, p)})::int = {p(figure.hour)}"
    return where + ")"


async def rooms_behind(scope: Scope, figure: Figure, limit: int) -> tuple[list[RoomFacts], int]:
    """The rooms a figure counted, newest first (at most `limit`), and how many there are."""
    p = Params()
    rooms_of = scope
    if figure.kind in ("messages", "replied") and len(volume.filters_of(scope)) == 1:
        # the figure counted messages under the filter when they were counted: the rooms
        # are those, wherever they are now
        rooms_of = msgspec.structs.replace(scope, team_id=None, owner_id=None, reference_type=None)
    where = f"{rooms_where(rooms_of, p)} AND {_figure_where(scope, figure, p)}"
    total = await sql.fetchval(f"SELECT count(*) FROM conversations c WHERE {where}", *p.values)
    query = f"{_ROOM_FACTS} WHERE {where} ORDER BY c.tm_create DESC, c.id DESC LIMIT {p(limit)}"
    return await sql.fetch_as(RoomFacts, query, *p.values), total


async def table(scope: Scope) -> AsyncIterator[RoomFacts]:
    """Every room opened or closed in the period, oldest first, streamed."""
    p = Params()
    query = (
        f"{_ROOM_FACTS} WHERE {rooms_where(scope, p)}"
        f" AND (({within('c.tm_create', scope, p)}) OR ({within('c.tm_closed', scope, p)}))"
        " ORDER BY c.tm_create, c.id"
    )
    async for record in sql.stream(query, *p.values):
        yield RoomFacts(**record)


# --- what the filters name -------------------------------------------------------------------


async def team_exists(customer_id: str, team_id: str) -> bool:
    """A team of the customer, deleted or not (its past rooms are history)."""
    return bool(
        await sql.fetchval(
            "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1::uuid AND customer_id = $2)",
            team_id,
            customer_id,
        )
    )


async def agent_exists(customer_id: str, agent_id: str) -> bool:
    """An agent of the customer, deleted or not."""
    return bool(
        await sql.fetchval(
            "SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1::uuid AND customer_id = $2)",
            agent_id,
            customer_id,
        )
    )


async def customer_time_zone(customer_id: str) -> str | None:
    """The time zone of the customer's business hours, if it has them."""
    return await sql.fetchval(
        "SELECT b.time_zone FROM customers u JOIN business_hours b"
        " ON b.id = u.business_hours_id AND b.tm_delete IS NULL WHERE u.id = $1",
        customer_id,
    )


class TeamChoice(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str


async def teams(customer_id: str) -> list[TeamChoice]:
    """The customer's live teams by name (the desk's filter)."""
    return await sql.fetch_as(
        TeamChoice,
        "SELECT id, name FROM teams WHERE customer_id = $1 AND tm_delete IS NULL"
        " ORDER BY lower(name), id",
        customer_id,
    )


async def team_members(customer_id: str, team_id: str) -> list[uuid.UUID]:
    rows = await sql.fetch(
        "SELECT m.agent_id FROM team_members m JOIN agents a ON a.id = m.agent_id"
        " WHERE m.customer_id = $1 AND m.team_id = $2::uuid AND a.tm_delete IS NULL",
        customer_id,
        team_id,
    )
    return [r["agent_id"] for r in rows]
