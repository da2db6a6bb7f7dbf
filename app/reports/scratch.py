"""The reports' figures counted from scratch: from the messages, the events, the SLA clocks
and the survey answers themselves, never from the kept facts (`conversations.tm_first_*`,
`tm_closed`, `report_slots`). The same functions and rows as `store`, so the same report
can be made both ways and compared: the tests do on generated data, and
bench/reports.py times both. Slow by design (every room's messages are read): a check, not
a way to answer requests.

The rules are the facts' own (app/reports/facts.py): first customer message, first agent
reply at or after it that went out, the last `conversation_closed` event of a room that
is closed, messages by their quarter hour.
"""

from __future__ import annotations

from app.db import sql
from app.reports import store
from app.reports.facts import MESSAGES_COUNTED, SLOT_SQL, room_facts_sql
from app.reports.scope import Scope
from app.reports.store import (
    AgentCount,
    AgentRatings,
    AgentSpread,
    DayCount,
    HourCount,
    Params,
    RatingCount,
    SlaCount,
    Spread,
    local,
    rooms_where,
    within,
)


def _facts(scope: Scope, p: Params) -> str:
    """SQL: the report's rooms (aliased `c` by the caller) with their facts counted."""
    rooms = f"SELECT * FROM conversations c WHERE {rooms_where(scope, p)}"
    return f"({room_facts_sql(rooms, p(scope.customer_id))})"


async def _days(scope: Scope, column: str) -> list[DayCount]:
    p = Params()
    facts = _facts(scope, p)
    query = (
        f"SELECT {local(column, scope, p)}::date AS day, count(*) AS count FROM {facts} c"
        f" WHERE {within(column, scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(DayCount, query, *p.values)


async def opened_by_day(scope: Scope) -> list[DayCount]:
    return await _days(scope, "c.tm_create")


async def closed_by_day(scope: Scope) -> list[DayCount]:
    return await _days(scope, "c.closed")


async def _spread(scope: Scope, value: str, column: str, also: str = "") -> Spread:
    p = Params()
    facts = _facts(scope, p)
    record = await sql.fetchrow(
        "SELECT count(*) AS count, (percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP"
        f" (ORDER BY extract(epoch FROM {value})))::float8[] AS pc FROM {facts} c"
        f" WHERE {within(column, scope, p)}{also}",
        *p.values,
    )
    assert record is not None
    pc = record["pc"]
    return Spread(count=record["count"], median=pc[0] if pc else None, p90=pc[1] if pc else None)


async def first_response(scope: Scope) -> Spread:
    return await _spread(
        scope, "c.first_reply - c.first_inbound", "c.tm_create", " AND c.first_reply IS NOT NULL"
    )


async def resolution(scope: Scope) -> Spread:
    return await _spread(scope, "c.closed - c.tm_create", "c.closed")


async def sla(scope: Scope) -> list[SlaCount]:
    """The clocks are the record itself (they stop when met or breached)."""
    return await store.sla(scope)


async def csat(scope: Scope) -> list[RatingCount]:
    """The answers are the record itself."""
    return await store.csat(scope)


def _messages(scope: Scope, p: Params) -> str:
    """SQL: the counted messages `m` of the report's rooms `c` in slots of the period."""
    slot = SLOT_SQL.format(col="m.tm_create")
    return (
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        f" WHERE m.customer_id = {p(scope.customer_id)} AND {within(slot, scope, p)}"
        f" AND {MESSAGES_COUNTED} AND {rooms_where(scope, p)}"
    )


async def hours(scope: Scope) -> list[HourCount]:
    p = Params()
    at = local("m.tm_create", scope, p)
    query = (
        f"SELECT extract(isodow FROM {at})::int - 1 AS dow, extract(hour FROM {at})::int AS hour,"
        " count(*) FILTER (WHERE m.direction = 'inbound')::int AS inbound,"
        " count(*) FILTER (WHERE m.direction = 'outbound')::int AS replies"
        f" {_messages(scope, p)} GROUP BY 1, 2"
    )
    return await sql.fetch_as(HourCount, query, *p.values)


def _agent_only(column: str, scope: Scope, p: Params) -> str:
    return f" AND {column} = {p(scope.agent_id)}::uuid" if scope.agent_id else ""


async def assigned(scope: Scope) -> list[AgentCount]:
    return await _owners(scope, "c.tm_create")


async def closed_by_owner(scope: Scope) -> list[AgentCount]:
    return await _owners(scope, "c.closed")


async def _owners(scope: Scope, column: str) -> list[AgentCount]:
    p = Params()
    facts = _facts(scope, p)
    query = (
        f"SELECT c.owner_id AS agent_id, count(*) AS count FROM {facts} c"
        f" WHERE {within(column, scope, p)} AND c.owner_id IS NOT NULL"
        f"{_agent_only('c.owner_id', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)


async def first_response_by_agent(scope: Scope) -> list[AgentSpread]:
    p = Params()
    facts = _facts(scope, p)
    query = (
        "SELECT c.first_replier AS agent_id, count(*) AS count,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY"
        f" extract(epoch FROM c.first_reply - c.first_inbound)) AS median FROM {facts} c"
        f" WHERE {within('c.tm_create', scope, p)} AND c.first_reply IS NOT NULL"
        f"{_agent_only('c.first_replier', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentSpread, query, *p.values)


async def replies_by_agent(scope: Scope) -> list[AgentCount]:
    p = Params()
    query = (
        f"SELECT m.agent_id, count(*)::int AS count {_messages(scope, p)}"
        f" AND m.direction = 'outbound'{_agent_only('m.agent_id', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)


async def csat_by_agent(scope: Scope) -> list[AgentRatings]:
    return await store.csat_by_agent(scope)
