"""The report resources as the API returns them (`/v1.0/reports/summary`,
`/v1.0/reports/agents`). Durations are seconds; times are the API's (UTC)."""

from __future__ import annotations

import msgspec


class ReportDay(msgspec.Struct, kw_only=True):
    date: str
    """A day in the report's time zone, YYYY-MM-DD."""
    opened: int
    closed: int


class ReportDuration(msgspec.Struct, kw_only=True):
    count: int
    """How many rooms the durations are of."""
    median: float | None
    p90: float | None


class ReportSlaKind(msgspec.Struct, kw_only=True):
    kind: str
    met: int
    breached: int
    percent_met: float | None


class ReportSla(msgspec.Struct, kw_only=True):
    policy_id: str
    name: str
    met: int
    breached: int
    percent_met: float | None
    kinds: list[ReportSlaKind]


class ReportCsat(msgspec.Struct, kw_only=True):
    count: int
    average: float | None
    distribution: list[int]
    """How many answers rated 1, 2, 3, 4 and 5."""


class ReportSummary(msgspec.Struct, kw_only=True):
    since: str = msgspec.field(name="from")
    to: str
    time_zone: str
    team_id: str | None
    agent_id: str | None
    reference_type: str | None
    opened: int
    closed: int
    inbound_messages: int
    replies: int
    days: list[ReportDay]
    first_response: ReportDuration
    resolution: ReportDuration
    sla: list[ReportSla]
    csat: ReportCsat
    busiest_hours: list[list[int]]
    """7 rows (Monday first) of 24 local hours: customer messages."""


class ReportAgent(msgspec.Struct, kw_only=True):
    agent_id: str
    name: str
    assigned: int
    closed: int
    replied: int
    first_responses: int
    first_response_median: float | None
    csat_count: int
    csat_average: float | None


class ReportAgents(msgspec.Struct, kw_only=True):
    since: str = msgspec.field(name="from")
    to: str
    time_zone: str
    team_id: str | None
    agent_id: str | None
    reference_type: str | None
    result: list[ReportAgent]
