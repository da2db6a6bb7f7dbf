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
from datetime import date, datetime
from typing import Any

import msgspec

from app.db import sql
from app.reports.facts import NOBODY
from app.reports.scope import Scope

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


def agent_only(column: str, scope: Scope, p: Params) -> str:
    """SQL: the agents report's row filter (`agent_id`), or nothing."""
    return f" AND {column} = {p(scope.agent_id)}::uuid" if scope.agent_id else ""


async def _days(scope: Scope, column: str) -> list[DayCount]:
    p = Params()
    query = (
        f"SELECT {local(column, scope, p)}::date AS day, count(*) AS count"
        f" FROM conversations c WHERE {rooms_where(scope, p)} AND {within(column, scope, p)}"
        " GROUP BY 1"
    )
    return await sql.fetch_as(DayCount, query, *p.values)


async def opened_by_day(scope: Scope) -> list[DayCount]:
    """Rooms opened in the period, per local day."""
    return await _days(scope, "c.tm_create")


async def closed_by_day(scope: Scope) -> list[DayCount]:
    """Rooms closed in the period (and closed still), per local day."""
    return await _days(scope, "c.tm_closed")


async def first_response(scope: Scope) -> Spread:
    """First response times (first agent reply after the first customer message) of the
    rooms opened in the period."""
    p = Params()
    query = (
        "SELECT count(*) AS count,"
        " (percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY"
        "   extract(epoch FROM c.tm_first_reply - c.tm_first_inbound)))::float8[] AS pc"
        f" FROM conversations c WHERE {rooms_where(scope, p)}"
        f" AND {within('c.tm_create', scope, p)} AND c.tm_first_reply IS NOT NULL"
    )
    return _spread(await sql.fetchrow(query, *p.values))


async def resolution(scope: Scope) -> Spread:
    """Resolution times (opened to closed) of the rooms closed in the period."""
    p = Params()
    query = (
        "SELECT count(*) AS count,"
        " (percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY"
        "   extract(epoch FROM c.tm_closed - c.tm_create)))::float8[] AS pc"
        f" FROM conversations c WHERE {rooms_where(scope, p)}"
        f" AND {within('c.tm_closed', scope, p)}"
    )
    return _spread(await sql.fetchrow(query, *p.values))


def _spread(record: Any) -> Spread:
    pc = record["pc"]
    return Spread(count=record["count"], median=pc[0] if pc else None, p90=pc[1] if pc else None)


async def sla(scope: Scope) -> list[SlaCount]:
    """Clocks met or breached in the period, per policy and kind."""
    p = Params()
    query = (
        "SELECT k.policy_id, max(sp.name) AS name, k.kind,"
        " count(*) FILTER (WHERE k.status = 'met') AS met,"
        " count(*) FILTER (WHERE k.status = 'breached') AS breached"
        " FROM sla_clocks k JOIN conversations c ON c.id = k.conversation_id"
        " LEFT JOIN sla_policies sp ON sp.id = k.policy_id"
        f" WHERE k.customer_id = {p(scope.customer_id)} AND k.stopped_at IS NOT NULL"
        f" AND {within('k.stopped_at', scope, p)} AND k.status IN ('met', 'breached')"
        f" AND {rooms_where(scope, p)}"
        " GROUP BY k.policy_id, k.kind"
    )
    return await sql.fetch_as(SlaCount, query, *p.values)


async def csat(scope: Scope) -> list[RatingCount]:
    """Survey answers given in the period, per rating."""
    p = Params()
    query = (
        "SELECT r.rating, count(*) AS count"
        " FROM csat_responses r JOIN conversations c ON c.id = r.conversation_id"
        f" WHERE r.customer_id = {p(scope.customer_id)} AND {within('r.tm_create', scope, p)}"
        f" AND {rooms_where(scope, p)} GROUP BY r.rating"
    )
    return await sql.fetch_as(RatingCount, query, *p.values)


async def hours(scope: Scope) -> list[HourCount]:
    """Customer messages and agent replies per local weekday and hour, from the slots that
    start in the period."""
    p = Params()
    slot = local("s.slot", scope, p)
    query = (
        f"SELECT extract(isodow FROM {slot})::int - 1 AS dow,"
        f" extract(hour FROM {slot})::int AS hour,"
        " sum(s.inbound)::int AS inbound, sum(s.replies)::int AS replies"
        " FROM report_slots s JOIN conversations c ON c.id = s.conversation_id"
        f" WHERE s.customer_id = {p(scope.customer_id)} AND {within('s.slot', scope, p)}"
        f" AND {rooms_where(scope, p)} GROUP BY 1, 2"
    )
    return await sql.fetch_as(HourCount, query, *p.values)


# --- per agent -----------------------------------------------------------------------------


async def assigned(scope: Scope) -> list[AgentCount]:
    """Rooms opened in the period, per agent holding them now."""
    return await _owners(scope, "c.tm_create")


async def closed_by_owner(scope: Scope) -> list[AgentCount]:
    """Rooms closed in the period, per agent holding them."""
    return await _owners(scope, "c.tm_closed")


async def _owners(scope: Scope, column: str) -> list[AgentCount]:
    p = Params()
    query = (
        "SELECT c.owner_id AS agent_id, count(*) AS count FROM conversations c"
        f" WHERE {rooms_where(scope, p)} AND {within(column, scope, p)}"
        f" AND c.owner_id IS NOT NULL{agent_only('c.owner_id', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)


async def first_response_by_agent(scope: Scope) -> list[AgentSpread]:
    """Median first response of the rooms opened in the period, per agent who gave it."""
    p = Params()
    query = (
        "SELECT c.first_reply_agent_id AS agent_id, count(*) AS count,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY"
        "   extract(epoch FROM c.tm_first_reply - c.tm_first_inbound)) AS median"
        f" FROM conversations c WHERE {rooms_where(scope, p)}"
        f" AND {within('c.tm_create', scope, p)} AND c.tm_first_reply IS NOT NULL"
        f"{agent_only('c.first_reply_agent_id', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentSpread, query, *p.values)


async def replies_by_agent(scope: Scope) -> list[AgentCount]:
    """Replies sent in the period, per agent."""
    p = Params()
    query = (
        "SELECT s.agent_id, sum(s.replies)::int AS count"
        " FROM report_slots s JOIN conversations c ON c.id = s.conversation_id"
        f" WHERE s.customer_id = {p(scope.customer_id)} AND {within('s.slot', scope, p)}"
        f" AND s.agent_id <> '{NOBODY}' AND s.replies > 0"
        f"{agent_only('s.agent_id', scope, p)} AND {rooms_where(scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)


async def csat_by_agent(scope: Scope) -> list[AgentRatings]:
    """Survey answers given in the period, per agent rated and rating."""
    p = Params()
    query = (
        "SELECT r.agent_id, r.rating, count(*) AS count"
        " FROM csat_responses r JOIN conversations c ON c.id = r.conversation_id"
        f" WHERE r.customer_id = {p(scope.customer_id)} AND {within('r.tm_create', scope, p)}"
        f" AND r.agent_id IS NOT NULL{agent_only('r.agent_id', scope, p)}"
        f" AND {rooms_where(scope, p)} GROUP BY 1, 2"
    )
    return await sql.fetch_as(AgentRatings, query, *p.values)


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
    # messages, replied: rooms with such messages in a slot of the period
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
    where = f"{rooms_where(scope, p)} AND {_figure_where(scope, figure, p)}"
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
