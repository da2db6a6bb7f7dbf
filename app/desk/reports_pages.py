"""Reports in the desk (`/reports`, managers and admins): figure cards, conversations per
day, CSAT answers, SLA outcomes, the busiest hours and the agents table, drawn as SVG on
the server; the rooms behind any number (`/reports/rooms`); CSV of the per-conversation
table, of the rooms behind a number, and of each chart (`/reports/export/…`). Every
figure comes from `app.reports.service`, the code the API calls; this module turns its
answer into chart geometry and links. Works without JavaScript (a form that reloads the
page); with htmx a changed filter swaps the report in place."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream, Template

from app.desk.admin_kit import page_router
from app.desk.render import channel_label
from app.desk.session import DESK_PRINCIPAL
from app.domain.enums import ReferenceType
from app.domain.errors import NotFound
from app.domain.principal import Principal
from app.domain.timefmt import fmt
from app.people import agent_store, agents
from app.reports import service, store
from app.reports.scope import Scope
from app.reports.shapes import ReportAgents, ReportDay, ReportSummary

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FILTERS = ("from", "to", "team_id", "agent_id", "reference_type")
FIGURE_PARAMS = (
    "figure",
    "day",
    "policy_id",
    "clock",
    "outcome",
    "rating",
    "dow",
    "hour",
    "by_agent",
)
RANGES = ((7, "7 days"), (30, "30 days"), (90, "90 days"))


def duration(value: float | None) -> str:
    """Seconds as people read them: "45 s", "4 min 12 s", "2 h 5 min", "3 d 4 h"."""
    if value is None:
        return "—"
    s = int(round(value))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, s = divmod(s, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _nice(top: int) -> tuple[int, int]:
    """A round axis maximum at or above `top` and its tick step (four ticks)."""
    if top <= 4:
        return 4, 1
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1, int(math.ceil(step)))
    return step * 4, step


@dataclass
class Mark:
    """One shape of a chart: where it is, what it says, where it leads."""

    x: float
    y: float
    w: float
    h: float
    cls: str
    label: str
    href: str
    text: str = ""


def _day(d: date) -> str:
    return f"{d:%b} {d.day}, {d.year}"


class Links:
    """URLs that keep the report's filters."""

    def __init__(self, scope: Scope, given: dict[str, str]) -> None:
        zone = scope.zone
        start, end = scope.start.astimezone(zone), scope.end.astimezone(zone)
        whole_days = start.time() == time(0) and end.time() == time(0)
        self.first_day = start.date()
        self.last_day = (scope.end - timedelta(microseconds=1)).astimezone(zone).date()
        if whole_days:
            self.base = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        else:
            self.base = {"from": fmt(scope.start), "to": fmt(scope.end)}
        self.label = f"{_day(self.first_day)} – {_day(self.last_day)}"
        for key in ("team_id", "agent_id", "reference_type"):
            if given.get(key):
                self.base[key] = given[key]

    def query(self, **extra: Any) -> str:
        values = {**self.base, **{k: v for k, v in extra.items() if v is not None}}
        return urlencode({k: v for k, v in values.items() if v != ""})

    def rooms(self, figure: str, **extra: Any) -> str:
        return "/reports/rooms?" + self.query(figure=figure, **extra)

    def export(self, name: str, **extra: Any) -> str:
        return f"/reports/export/{name}.csv?" + self.query(**extra)

    def report(self, **extra: Any) -> str:
        return "/reports?" + self.query(**extra)


# --- charts ------------------------------------------------------------------------------------

DAYS_W, DAYS_H = 760, 230
LEFT, BOTTOM, TOP = 40, 28, 12


def day_chart(days: list[ReportDay], links: Links) -> dict[str, Any]:
    """Opened and closed bars per day, with a y axis of round ticks."""
    top, step = _nice(max([1, *(d.opened for d in days), *(d.closed for d in days)]))
    width, height = DAYS_W - LEFT - 8, DAYS_H - BOTTOM - TOP
    group = width / max(1, len(days))
    bar = max(1.0, group * 0.36)
    marks, labels = [], []
    every = max(1, math.ceil(len(days) / 12))
    for i, d in enumerate(days):
        x = LEFT + i * group + group * 0.14
        for j, (key, value) in enumerate((("opened", d.opened), ("closed", d.closed))):
            h = height * value / top
            marks.append(
                Mark(
                    x=round(x + j * bar, 2),
                    y=round(TOP + height - h, 2),
                    w=round(bar, 2),
                    h=round(max(h, 0.0), 2),
                    cls=key,
                    label=f"{d.date}: {value} {key}",
                    href=links.rooms(key, day=d.date),
                )
            )
        if i % every == 0:
            labels.append(
                Mark(x=round(LEFT + (i + 0.5) * group, 2), y=DAYS_H - 9, w=0, h=0, cls="", label="",
                     href="", text=d.date[5:])
            )  # fmt: skip
    ticks = [
        Mark(x=LEFT - 6, y=round(TOP + height - height * v / top, 2), w=width, h=0, cls="",
             label="", href="", text=str(v))
        for v in range(0, top + 1, step)
    ]  # fmt: skip
    return {"marks": marks, "labels": labels, "ticks": ticks, "w": DAYS_W, "h": DAYS_H,
            "left": LEFT, "right": DAYS_W - 8}  # fmt: skip


def heat_map(hours: list[list[int]], links: Links) -> dict[str, Any]:
    """Seven rows of 24 hours, shaded in five steps of the busiest hour."""
    most = max([1, *(n for row in hours for n in row)])
    cell_w, cell_h, left, top = 29.5, 24, 42, 20
    cells = []
    for dow, row in enumerate(hours):
        for hour, n in enumerate(row):
            level = 0 if n == 0 else min(4, 1 + int(4 * n / (most + 1)))
            cells.append(
                Mark(
                    x=round(left + hour * cell_w, 2),
                    y=top + dow * cell_h,
                    w=cell_w - 2,
                    h=cell_h - 2,
                    cls=f"heat-{level}",
                    label=f"{WEEKDAYS[dow]} {hour:02d}:00–{(hour + 1) % 24:02d}:00:"
                    f" {n} message{'s' if n != 1 else ''}",
                    href=links.rooms("messages", dow=dow, hour=hour),
                )
            )
    return {
        "cells": cells,
        "w": round(left + 24 * cell_w, 2),
        "h": top + 7 * cell_h,
        "rows": [(WEEKDAYS[i][:3], top + i * cell_h + cell_h / 2) for i in range(7)],
        "cols": [(f"{h:02d}", round(left + h * cell_w + cell_w / 2, 2)) for h in range(0, 24, 3)],
    }


def csat_chart(distribution: list[int], links: Links) -> list[dict[str, Any]]:
    """One row per rating, 5 first: its share of the answers as a bar's width."""
    total = sum(distribution)
    most = max([1, *distribution])
    rows = []
    for rating in range(5, 0, -1):
        n = distribution[rating - 1]
        rows.append(
            {
                "rating": rating,
                "count": n,
                "share": round(100 * n / total) if total else 0,
                "width": round(100 * n / most, 1),
                "href": links.rooms("csat", rating=rating),
            }
        )
    return rows


# --- the pages ---------------------------------------------------------------------------------


def _given(**values: str | None) -> dict[str, str]:
    return {k: (v or "").strip() for k, v in values.items()}


ReportQuery = dict[str, str]
"""A page's period and filters as its query gave them (`from`, `to`, `team_id`, `agent_id`,
`reference_type`; blank when not given): what its links carry on."""
FigureQuery = dict[str, str]
"""Which figure's rooms a page or export is about (FIGURE_PARAMS), as its query gave them."""


async def report_query(
    since: str | None = Parameter(query="from", default=None),
    until: str | None = Parameter(query="to", default=None),
    team_id: str | None = None,
    agent_id: str | None = None,
    reference_type: str | None = None,
) -> ReportQuery:
    """The period and filter parameters, declared once for every reports page."""
    return _given(
        **{"from": since, "to": until},
        team_id=team_id,
        agent_id=agent_id,
        reference_type=reference_type,
    )


async def figure_query(
    figure: str | None = None,
    day: str | None = None,
    policy_id: str | None = None,
    clock: str | None = None,
    outcome: str | None = None,
    rating: str | None = None,
    dow: str | None = None,
    hour: str | None = None,
    by_agent: str | None = None,
) -> FigureQuery:
    """The figure parameters of the rooms page and its export, declared once."""
    return _given(
        figure=figure, day=day, policy_id=policy_id, clock=clock, outcome=outcome,
        rating=rating, dow=dow, hour=hour, by_agent=by_agent,
    )  # fmt: skip


async def _scope(principal: Principal, given: dict[str, str], *, per_agent: bool = False) -> Scope:
    return await service.scope_of(
        principal,
        since=given.get("from") or None,
        until=given.get("to") or None,
        team_id=given.get("team_id") or None,
        agent_id=given.get("agent_id") or None,
        reference_type=given.get("reference_type") or None,
        per_agent=per_agent,
    )


async def _choices(principal: Principal) -> dict[str, Any]:
    return {
        "teams": await store.teams(principal.customer_id),
        "people": await agent_store.directory(principal.customer_id),
        "channels": [(r.value, channel_label(r.value)) for r in ReferenceType],
    }


async def report_context(principal: Principal, given: dict[str, str]) -> dict[str, Any]:
    scope = await _scope(principal, given)
    links = Links(scope, given)
    summary: ReportSummary = await service.summary(principal, scope)
    table: ReportAgents = await service.agents(
        principal,
        Scope(**{**_fields(scope), "owner_id": None, "agent_id": scope.owner_id}),
    )
    sla_met = sum(s.met for s in summary.sla)
    sla_all = sla_met + sum(s.breached for s in summary.sla)
    today = datetime.now(scope.zone).date()
    ranges = [
        (label, "/reports?" + urlencode({
            **{k: v for k, v in links.base.items() if k not in ("from", "to")},
            "from": (today - timedelta(days=n - 1)).isoformat(), "to": today.isoformat(),
        }), links.first_day == today - timedelta(days=n - 1) and links.last_day == today)
        for n, label in RANGES
    ]  # fmt: skip
    return {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "reports",
        "given": given,
        "scope": scope,
        "links": links,
        "summary": summary,
        "agents": table.result,
        "sla_met": sla_met,
        "sla_all": sla_all,
        "sla_percent": round(100 * sla_met / sla_all, 1) if sla_all else None,
        "days": day_chart(summary.days, links),
        "heat": heat_map(summary.busiest_hours, links),
        "csat_rows": csat_chart(summary.csat.distribution, links),
        "ranges": ranges,
        "weekdays": WEEKDAYS,
        "duration": duration,
        "channel_label": channel_label,
        **await _choices(principal),
    }


def _fields(scope: Scope) -> dict[str, Any]:
    return {f: getattr(scope, f) for f in scope.__struct_fields__}


FIGURE_TITLES = {
    "opened": "Conversations opened",
    "closed": "Conversations closed",
    "first_response": "Conversations with a first response",
    "sla": "Conversations with SLA outcomes",
    "csat": "Conversations with CSAT answers",
    "messages": "Conversations with customer messages",
    "replied": "Conversations with agent replies",
}


def _figure(params: dict[str, str]) -> store.Figure:
    return service.figure_of(
        params.get("figure") or "",
        **{k: params.get(k) or None for k in FIGURE_PARAMS if k != "figure"},
    )


def _describe(figure: store.Figure, names: dict[str, str], policies: dict[str, str]) -> str:
    parts = [FIGURE_TITLES[figure.kind]]
    if figure.day:
        parts.append(f"on {figure.day.isoformat()}")
    if figure.rating is not None:
        parts.append(f"rated {figure.rating}")
    if figure.policy_id:
        parts.append(f"under {policies.get(figure.policy_id, 'a policy')}")
    if figure.clock:
        parts.append(f"({figure.clock.replace('_', ' ')})")
    if figure.outcome:
        parts.append(figure.outcome)
    if figure.dow is not None:
        parts.append(f"on {WEEKDAYS[figure.dow]}s")
    if figure.hour is not None:
        parts.append(f"{figure.hour:02d}:00–{(figure.hour + 1) % 24:02d}:00")
    if figure.by_agent:
        parts.append(f"by {names.get(figure.by_agent, 'an agent')}")
    return " ".join(parts)


class ReportsController(Controller):
    path = "/"
    dependencies = {
        **DESK_PRINCIPAL,
        "given": Provide(report_query),
        "params": Provide(figure_query),
    }
    include_in_schema = False

    @get("/")
    async def reports_page(
        self,
        principal: Principal,
        given: ReportQuery,
    ) -> Template:
        return Template("reports.html", context=await report_context(principal, given))

    @get("/rooms")
    async def rooms_page(
        self,
        principal: Principal,
        given: ReportQuery,
        params: FigureQuery,
    ) -> Template:
        scope = await _scope(principal, given)
        chosen = _figure(params)
        rooms, total = await service.rooms_behind(principal, scope, chosen)
        links = Links(scope, given)
        names = await agent_store.names(principal.customer_id, [chosen.by_agent, scope.owner_id])
        policies = {
            s.policy_id: s.name for s in (await service.summary(principal, scope)).sla
        } if chosen.policy_id else {}  # fmt: skip
        return Template(
            "report_rooms.html",
            context={
                "principal": principal,
                "me_name": await agents.display_name(principal),
                "nav_active": "reports",
                "rooms": rooms,
                "total": total,
                "title": _describe(chosen, names, policies),
                "links": links,
                "scope": scope,
                "back": links.report(),
                "export": links.export("rooms", **{k: v for k, v in params.items() if v}),
                "duration": duration,
                "channel_label": channel_label,
                "filters_named": await _named_filters(principal, scope),
            },
        )

    @get("/export/{name:str}")
    async def export(
        self,
        principal: Principal,
        name: str,
        given: ReportQuery,
        params: FigureQuery,
    ) -> Stream:
        chart = name.removesuffix(".csv")
        if not name.endswith(".csv") or chart not in (*service.CHARTS, "conversations", "rooms"):
            raise NotFound("export_not_found", "There is no such export.")
        scope = await _scope(principal, given, per_agent=chart == "agents")
        if chart == "conversations":
            body: Any = service.table_csv(principal, scope)
        elif chart == "rooms":
            body = service.rooms_behind_csv(principal, scope, _figure(params))
        else:
            body = [await service.chart_csv(principal, scope, chart)]
        filename = f"{chart}-{scope.start.date()}-{scope.end.date()}.csv"
        return Stream(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )


async def _named_filters(principal: Principal, scope: Scope) -> list[str]:
    """The filters in words, for the rooms page's heading."""
    named = []
    if scope.team_id:
        teams = {str(t.id): t.name for t in await store.teams(principal.customer_id)}
        named.append(f"team {teams.get(scope.team_id, 'a deleted team')}")
    if scope.owner_id:
        names = await agent_store.names(principal.customer_id, [scope.owner_id])
        named.append(f"assigned to {names.get(scope.owner_id, 'a deleted agent')}")
    if scope.reference_type:
        named.append(f"on {channel_label(scope.reference_type)}")
    return named


ROUTES: list = [page_router("/reports", ReportsController)]
