"""`/v1.0/reports`: the summary, the per-agent table and the per-conversation CSV, for
managers and admins."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from app.api.openapi import answers
from app.domain.enums import ReferenceType
from app.domain.errors import Forbidden, NotFound
from app.domain.principal import Principal
from app.reports import service
from app.reports.scope import Scope
from app.reports.shapes import ReportAgents, ReportSummary

SINCE = Parameter(
    query="from",
    default=None,
    max_length=64,
    description="The first day (YYYY-MM-DD, in the report's time zone) or time counted;"
    " default: 7 days before `to`.",
)
UNTIL = Parameter(
    query="to",
    default=None,
    max_length=64,
    description="The last day counted (a date: that whole day) or the first time not"
    " counted; default: today (or 7 days after `from`). At most 366 days in all.",
)
TEAM = Parameter(default=None, max_length=64, description="Only rooms of this team.")
CHANNEL = Parameter(default=None, description="Only rooms on this channel.")
ZONE = Parameter(
    default=None,
    max_length=64,
    description="IANA time zone of days and hours; default: the customer's business"
    " hours', else UTC.",
)


AGENT = Parameter(
    default=None,
    max_length=64,
    description="Only rooms assigned to this agent (the agents report: only its row).",
)


class ReportFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The period and filters every report takes, as the query gave them."""

    since: str | None
    until: str | None
    team_id: str | None
    agent_id: str | None
    reference_type: str | None
    time_zone: str | None

    async def scope(self, principal: Principal, *, per_agent: bool = False) -> Scope:
        return await service.scope_of(
            principal,
            since=self.since,
            until=self.until,
            team_id=self.team_id,
            agent_id=self.agent_id,
            reference_type=self.reference_type,
            time_zone=self.time_zone,
            per_agent=per_agent,
        )


async def report_filters(
    since: str | None = SINCE,
    until: str | None = UNTIL,
    team_id: str | None = TEAM,
    agent_id: str | None = AGENT,
    reference_type: ReferenceType | None = CHANNEL,
    time_zone: str | None = ZONE,
) -> ReportFilters:
    """The reports' query parameters, declared once for all three."""
    return ReportFilters(
        since=since,
        until=until,
        team_id=team_id,
        agent_id=agent_id,
        reference_type=reference_type.value if reference_type else None,
        time_zone=time_zone,
    )


class ReportController(Controller):
    path = "/v1.0/reports"
    tags = ["reports"]
    opt = answers(Forbidden, NotFound)  # managers and admins; a filter naming no one
    dependencies = {"filters": Provide(report_filters)}

    @get("/summary")
    async def get_report_summary(
        self,
        principal: Principal,
        filters: ReportFilters,
    ) -> ReportSummary:
        """Rooms opened and closed per day, first response times (rooms opened in the
        period) and resolution times (rooms closed in it) as median and 90th percentile,
        SLA clocks met and breached per policy, CSAT answers, customer messages per
        weekday and hour. Managers and admins."""
        scope = await filters.scope(principal)
        return await service.summary(principal, scope)

    @get("/agents")
    async def get_report_agents(
        self,
        principal: Principal,
        filters: ReportFilters,
    ) -> ReportAgents:
        """Per agent: rooms opened in the period it holds, rooms closed in it it held,
        replies it sent, the median of the first responses it gave, and its CSAT.
        Managers and admins."""
        scope = await filters.scope(principal, per_agent=True)
        return await service.agents(principal, scope)

    @get(
        "/conversations.csv",
        media_type="text/csv; charset=utf-8",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/csv",
                description="A header line, then one line per room.",
                generate_examples=False,
            )
        },
    )
    async def get_report_conversations_csv(
        self,
        principal: Principal,
        filters: ReportFilters,
    ) -> Stream:
        """One line per room opened or closed in the period: its times, first response and
        resolution in seconds, reply counts, SLA outcomes and CSAT answer. CSV (RFC 4180),
        UTF-8; text that starts like a spreadsheet formula is prefixed with `'`. Managers
        and admins."""
        scope = await filters.scope(principal)
        name = f"conversations-{scope.start.date()}-{scope.end.date()}.csv"
        return Stream(
            service.table_csv(principal, scope),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
