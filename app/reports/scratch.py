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
    Closed,
    HourCount,
    Opened,
    Params,
    RatingCount,
    SlaCount,
    local,
    rooms_where,
    within,
)


def _rooms(scope: Scope, p: Params) -> str:
    """SQL: the report's rooms, aliased `c`, with their facts counted from their messages
    and events under the kept facts' names."""
    rooms = f"SELECT * FROM conversations c WHERE {rooms_where(scope, p)}"
    counted = room_facts_sql(rooms, p(scope.customer_id))
    return (
        "(SELECT f.id, f.customer_id, f.tm_create, f.owner_id, f.team_id, f.reference_type,"
        " f.first_inbound AS tm_first_inbound, f.first_reply AS tm_first_reply,"
        " f.first_replier AS first_reply_agent_id, f.closed AS tm_closed"
        f" FROM ({counted}) f) c"
    )


async def opened(scope: Scope, *, per_agent: bool = False) -> Opened:
    p = Params()
    return await store.opened(scope, _rooms(scope, p), p, per_agent=per_agent)


async def closed(scope: Scope, *, per_agent: bool = False) -> Closed:
    p = Params()
    return await store.closed(scope, _rooms(scope, p), p, per_agent=per_agent)


async def sla(scope: Scope) -> list[SlaCount]:
    """The clocks are the record itself (they stop when met or breached)."""
    return await store.sla(scope)


async def csat(scope: Scope) -> list[RatingCount]:
    """The answers are the record itself."""
    return await store.csat(scope)


async def csat_by_agent(scope: Scope) -> list[AgentRatings]:
    return await store.csat_by_agent(scope)


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


async def replies_by_agent(scope: Scope) -> list[AgentCount]:
    p = Params()
    query = (
        f"SELECT m.agent_id, count(*)::int AS count {_messages(scope, p)}"
        f" AND m.direction = 'outbound'{_agent_only('m.agent_id', scope, p)} GROUP BY 1"
    )
    return await sql.fetch_as(AgentCount, query, *p.values)
