"""Reports for managers and admins: the summary (rooms opened and closed per day, first
response and resolution times, SLA outcomes per policy, CSAT, the busiest hours), the
per-agent table, the per-conversation table as CSV, the rooms behind any figure, and each
chart's data as CSV.

What counts where (docs/API.md, "Reports"): rooms opened in the period (and their first
responses), rooms closed in the period (and their resolution times), clocks met or
breached in the period, survey answers given in the period, messages in quarter hours
that start in the period. Filters apply to the room as it is now (its team, its assignee,
its channel), except for messages, which count for the team, assignee and channel their
room had when they were counted (app/reports/volume.py). Deleted rooms and rooms merged
into another are left out.

Every figure comes from `store` (the kept facts); `recount=True` takes it from `scratch`
(the messages and events themselves) instead, which must give the same report.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import date, datetime
from types import ModuleType
from typing import Any

from app.db import sql
from app.db.piccolo_conf import DB
from app.domain.enums import ReferenceType
from app.domain.errors import BadRequest, Forbidden, NotFound
from app.domain.principal import Principal
from app.domain.timefmt import fmt, now
from app.people import agent_store
from app.reports import scratch, store, volume
from app.reports.scope import (
    Scope,
    average,
    csv_lines,
    days_of,
    percent,
    period,
    seconds,
    zone_of,
)
from app.reports.shapes import (
    ReportAgent,
    ReportAgents,
    ReportCsat,
    ReportDay,
    ReportDuration,
    ReportSla,
    ReportSlaKind,
    ReportSummary,
)
from app.reports.store import Figure, RoomFacts

CLOCK_KINDS = ("first_response", "next_response", "resolution")
CHANNELS = tuple(r.value for r in ReferenceType)
ROOMS_SHOWN = 200
"""The rooms behind a figure the desk lists; the CSV of the same figure has them all."""


def require_manager(principal: Principal) -> None:
    if not principal.sees_all_conversations:
        raise Forbidden("manager_required", "Only admins and managers may read reports.")


def _id(name: str, value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest("invalid_parameter", f"{name}: a UUID is needed.") from None


async def scope_of(
    principal: Principal,
    *,
    since: str | None = None,
    until: str | None = None,
    team_id: str | None = None,
    agent_id: str | None = None,
    reference_type: str | None = None,
    time_zone: str | None = None,
    per_agent: bool = False,
    at: datetime | None = None,
) -> Scope:
    """The report's period and filters, checked: a manager or admin only (403); a
    malformed id, time or zone is a 400; a team or agent that is not the customer's a
    404. The time zone: `time_zone`, else the customer's business hours', else UTC.
    `per_agent`: `agent_id` picks the agents report's row rather than the rooms' owner."""
    require_manager(principal)
    team = _id("team_id", team_id)
    agent = _id("agent_id", agent_id)
    zone_name = (time_zone or "").strip() or (
        await store.customer_time_zone(principal.customer_id) or "UTC"
    )
    zone = zone_of(zone_name)
    start, end = period(since, until, zone, at or now())
    channel = (reference_type or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        raise BadRequest("invalid_parameter", f"reference_type: one of {', '.join(CHANNELS)}.")
    if team and not await store.team_exists(principal.customer_id, team):
        raise NotFound("team_not_found", "There is no such team.")
    if agent and not await store.agent_exists(principal.customer_id, agent):
        raise NotFound("agent_not_found", "There is no such agent.")
    return Scope(
        customer_id=principal.customer_id,
        start=start,
        end=end,
        time_zone=zone.key,
        team_id=team,
        owner_id=None if per_agent else agent,
        agent_id=agent if per_agent else None,
        reference_type=channel,
    )


def _duration(spread: store.Spread) -> ReportDuration:
    return ReportDuration(
        count=spread.count, median=seconds(spread.median), p90=seconds(spread.p90)
    )


async def _ready(recount: bool, scope: Scope) -> ModuleType:
    """Where the figures come from: the kept facts and counts (with the customer's events
    folded up to now: app/reports/volume.py), or, recounting, the records themselves."""
    if recount:
        return scratch
    await volume.catch_up(scope.customer_id)
    return store


async def _together(*queries: Awaitable[Any]) -> list[Any]:
    """The report's statements at once, each on a connection of its own (they read
    different index ranges; a year's report is several scans that need not wait for each
    other). Inside a transaction, one after the other on its connection.

    Each is planned for its values: PostgreSQL moves a prepared statement to a generic
    plan after five runs on a connection, and for the clocks of one agent's rooms over a
    year that plan probes the rooms clock by clock (0.5-0.7 s instead of 30-70 ms)."""
    if DB.current_transaction.get() is not None:
        await sql.execute(_CUSTOM_PLANS)
        return [await q for q in queries]
    return list(await asyncio.gather(*(_planned(q) for q in queries)))


_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"


async def _planned(query: Awaitable[Any]) -> Any:
    async with DB.transaction():
        await sql.execute(_CUSTOM_PLANS)
        return await query


async def summary(principal: Principal, scope: Scope, *, recount: bool = False) -> ReportSummary:
    """The summary of `scope` (from `scope_of`)."""
    require_manager(principal)
    source = await _ready(recount, scope)
    opened, closed, hours, csat, sla = await _together(
        source.opened(scope),
        source.closed(scope),
        source.hours(scope),
        source.csat(scope),
        source.sla(scope),
    )
    per_day = {d.day: d.count for d in opened.days}
    closed_per_day = {d.day: d.count for d in closed.days}
    heat = [[0] * 24 for _ in range(7)]
    inbound = replies = 0
    for h in hours:
        heat[h.dow][h.hour] += h.inbound
        inbound += h.inbound
        replies += h.replies
    ratings = {r.rating: r.count for r in csat}
    return ReportSummary(
        since=fmt(scope.start),
        to=fmt(scope.end),
        time_zone=scope.time_zone,
        team_id=scope.team_id,
        agent_id=scope.owner_id,
        reference_type=scope.reference_type,
        opened=sum(per_day.values()),
        closed=sum(closed_per_day.values()),
        inbound_messages=inbound,
        replies=replies,
        days=[
            ReportDay(date=d.isoformat(), opened=per_day.get(d, 0), closed=closed_per_day.get(d, 0))
            for d in days_of(scope.start, scope.end, scope.zone)
        ],
        first_response=_duration(opened.first_response),
        resolution=_duration(closed.resolution),
        sla=_sla(sla),
        csat=ReportCsat(
            count=sum(ratings.values()),
            average=average(ratings),
            distribution=[ratings.get(r, 0) for r in range(1, 6)],
        ),
        busiest_hours=heat,
    )


def _sla(rows: list[store.SlaCount]) -> list[ReportSla]:
    policies: dict[uuid.UUID, list[store.SlaCount]] = {}
    for row in rows:
        policies.setdefault(row.policy_id, []).append(row)
    found = []
    for policy_id, kinds in policies.items():
        met = sum(k.met for k in kinds)
        breached = sum(k.breached for k in kinds)
        by_kind = {k.kind: k for k in kinds}
        found.append(
            ReportSla(
                policy_id=str(policy_id),
                name=next((k.name for k in kinds if k.name is not None), "a deleted policy"),
                met=met,
                breached=breached,
                percent_met=percent(met, met + breached),
                kinds=[
                    ReportSlaKind(
                        kind=kind,
                        met=by_kind[kind].met,
                        breached=by_kind[kind].breached,
                        percent_met=percent(
                            by_kind[kind].met, by_kind[kind].met + by_kind[kind].breached
                        ),
                    )
                    for kind in sorted(by_kind, key=_clock_order)
                ],
            )
        )
    return sorted(found, key=lambda s: (s.name.lower(), s.policy_id))


def _clock_order(kind: str) -> tuple[int, str]:
    return (CLOCK_KINDS.index(kind) if kind in CLOCK_KINDS else len(CLOCK_KINDS), kind)


async def agents(principal: Principal, scope: Scope, *, recount: bool = False) -> ReportAgents:
    """The per-agent table of `scope` (from `scope_of(per_agent=True)`): the customer's
    agents (the team's members, with a team filter; the one agent, with an agent filter)
    and anyone else with a figure in it, by name."""
    require_manager(principal)
    source = await _ready(recount, scope)
    opened, closed, replies, rated = await _together(
        source.opened(scope, per_agent=True),
        source.closed(scope, per_agent=True),
        source.replies_by_agent(scope),
        source.csat_by_agent(scope),
    )
    assigned = {a.agent_id: a.count for a in opened.owners}
    closed_by = {a.agent_id: a.count for a in closed.owners}
    replied = {a.agent_id: a.count for a in replies}
    responses = {a.agent_id: a for a in opened.repliers}
    ratings: dict[uuid.UUID, dict[int, int]] = {}
    for r in rated:
        ratings.setdefault(r.agent_id, {})[r.rating] = r.count
    if scope.agent_id:
        wanted = {uuid.UUID(scope.agent_id)}
    elif scope.team_id:
        wanted = set(await store.team_members(scope.customer_id, scope.team_id))
    else:
        wanted = {uuid.UUID(c.id) for c in await agent_store.directory(scope.customer_id)}
    wanted |= {*assigned, *closed_by, *replied, *responses, *ratings}
    names = await agent_store.names(scope.customer_id, wanted)
    rows = []
    for agent_id in wanted:
        first = responses.get(agent_id)
        rated = ratings.get(agent_id, {})
        rows.append(
            ReportAgent(
                agent_id=str(agent_id),
                name=names.get(str(agent_id), "a deleted agent"),
                assigned=assigned.get(agent_id, 0),
                closed=closed_by.get(agent_id, 0),
                replied=replied.get(agent_id, 0),
                first_responses=first.count if first else 0,
                first_response_median=seconds(first.median) if first else None,
                csat_count=sum(rated.values()),
                csat_average=average(rated),
            )
        )
    rows.sort(key=lambda a: (a.name.lower(), a.agent_id))
    return ReportAgents(
        since=fmt(scope.start),
        to=fmt(scope.end),
        time_zone=scope.time_zone,
        team_id=scope.team_id,
        agent_id=scope.agent_id,
        reference_type=scope.reference_type,
        result=rows,
    )


# --- rooms and CSV ---------------------------------------------------------------------------

TABLE_COLUMNS = (
    "conversation_id",
    "name",
    "channel",
    "status",
    "priority",
    "team_id",
    "team",
    "assignee_id",
    "assignee",
    "opened_at",
    "first_message_at",
    "first_reply_at",
    "first_response_seconds",
    "first_reply_by",
    "closed_at",
    "resolution_seconds",
    "customer_messages",
    "agent_replies",
    "sla_policy",
    "sla_first_response",
    "sla_next_response",
    "sla_resolution",
    "csat_rating",
    "csat_comment",
)


def _time(value: datetime | None) -> str | None:
    return fmt(value) if value is not None else None


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return seconds((end - start).total_seconds())


def table_row(room: RoomFacts) -> list[object]:
    """A room as one line of the per-conversation table (TABLE_COLUMNS)."""
    return [
        str(room.id),
        room.name,
        room.reference_type,
        room.status,
        room.priority,
        str(room.team_id) if room.team_id else None,
        room.team_name,
        str(room.owner_id) if room.owner_id else None,
        room.owner_name,
        _time(room.tm_create),
        _time(room.tm_first_inbound),
        _time(room.tm_first_reply),
        _between(room.tm_first_inbound, room.tm_first_reply),
        room.first_reply_agent_name,
        _time(room.tm_closed),
        _between(room.tm_create, room.tm_closed),
        room.inbound,
        room.replies,
        room.sla_policy,
        room.sla_first_response,
        room.sla_next_response,
        room.sla_resolution,
        room.csat_rating,
        room.csat_comment,
    ]


async def table_csv(principal: Principal, scope: Scope) -> AsyncIterator[str]:
    """The per-conversation table of `scope` as CSV text, a header then a line per room
    opened or closed in the period (oldest first), in pieces as the rooms are read."""
    require_manager(principal)
    yield csv_lines([TABLE_COLUMNS])
    batch: list[list[object]] = []
    async for room in store.table(scope):
        batch.append(table_row(room))
        if len(batch) == 500:
            yield csv_lines(batch)
            batch = []
    if batch:
        yield csv_lines(batch)


def figure_of(
    kind: str,
    *,
    day: str | None = None,
    policy_id: str | None = None,
    clock: str | None = None,
    outcome: str | None = None,
    rating: str | None = None,
    dow: str | None = None,
    hour: str | None = None,
    by_agent: str | None = None,
) -> Figure:
    """A figure as the desk's links name it; a 400 for anything malformed."""
    if kind not in store.FIGURES:
        raise BadRequest("invalid_parameter", f"figure: one of {', '.join(store.FIGURES)}.")

    def number(name: str, value: str | None, low: int, high: int) -> int | None:
        if value in (None, ""):
            return None
        try:
            n = int(value)  # type: ignore[arg-type]
        except ValueError:
            n = low - 1
        if not low <= n <= high:
            raise BadRequest("invalid_parameter", f"{name}: a whole number {low}-{high}.")
        return n

    on: date | None = None
    if day:
        try:
            on = date.fromisoformat(day)
        except ValueError:
            raise BadRequest("invalid_parameter", "day: a date such as 2026-12-01.") from None
    if clock and clock not in CLOCK_KINDS:
        raise BadRequest("invalid_parameter", f"clock: one of {', '.join(CLOCK_KINDS)}.")
    if outcome and outcome not in ("met", "breached"):
        raise BadRequest("invalid_parameter", "outcome: met or breached.")
    return Figure(
        kind=kind,
        day=on,
        policy_id=_id("policy_id", policy_id),
        clock=clock or None,
        outcome=outcome or None,
        rating=number("rating", rating, 1, 5),
        dow=number("dow", dow, 0, 6),
        hour=number("hour", hour, 0, 23),
        by_agent=_id("by_agent", by_agent),
    )


async def rooms_behind(
    principal: Principal, scope: Scope, figure: Figure, limit: int = ROOMS_SHOWN
) -> tuple[list[RoomFacts], int]:
    """The rooms a figure of the report counted (newest first, at most `limit`) and how
    many there are (the events folded first: the messages' figures under one filter list
    the rooms whose messages were counted under it)."""
    require_manager(principal)
    await volume.catch_up(scope.customer_id)
    return await store.rooms_behind(scope, figure, limit)


async def rooms_behind_csv(
    principal: Principal, scope: Scope, figure: Figure
) -> AsyncIterator[str]:
    """Every room behind a figure, as the per-conversation table."""
    rooms, _ = await rooms_behind(principal, scope, figure, limit=100_000)
    yield csv_lines([TABLE_COLUMNS, *(table_row(r) for r in rooms)])


CHARTS = ("days", "hours", "csat", "sla", "agents")


async def chart_csv(principal: Principal, scope: Scope, chart: str) -> str:
    """One chart's figures as CSV: `days` (opened and closed per day), `hours` (customer
    messages per weekday and hour), `csat` (answers per rating), `sla` (per policy and
    clock), `agents` (the per-agent table; `scope` from `scope_of(per_agent=True)`)."""
    if chart == "days":
        report = await summary(principal, scope)
        return csv_lines(
            [("date", "opened", "closed"), *((d.date, d.opened, d.closed) for d in report.days)]
        )
    if chart == "hours":
        report = await summary(principal, scope)
        weekdays = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        return csv_lines(
            [
                ("weekday", *(f"{h:02d}:00" for h in range(24))),
                *((weekdays[i], *row) for i, row in enumerate(report.busiest_hours)),
            ]
        )
    if chart == "csat":
        report = await summary(principal, scope)
        return csv_lines(
            [("rating", "answers"), *((i + 1, n) for i, n in enumerate(report.csat.distribution))]
        )
    if chart == "sla":
        report = await summary(principal, scope)
        return csv_lines(
            [
                ("policy_id", "policy", "clock", "met", "breached", "percent_met"),
                *(
                    (s.policy_id, s.name, k.kind, k.met, k.breached, k.percent_met)
                    for s in report.sla
                    for k in [
                        *s.kinds,
                        ReportSlaKind(
                            kind="all", met=s.met, breached=s.breached, percent_met=s.percent_met
                        ),
                    ]
                ),
            ]
        )
    if chart == "agents":
        table = await agents(principal, scope)
        return csv_lines(
            [
                (
                    "agent_id",
                    "agent",
                    "assigned",
                    "closed",
                    "replied",
                    "first_responses",
                    "first_response_median_seconds",
                    "csat_answers",
                    "csat_average",
                ),
                *(
                    (
                        a.agent_id,
                        a.name,
                        a.assigned,
                        a.closed,
                        a.replied,
                        a.first_responses,
                        a.first_response_median,
                        a.csat_count,
                        a.csat_average,
                    )
                    for a in table.result
                ),
            ]
        )
    raise NotFound("chart_not_found", "There is no such chart.")
