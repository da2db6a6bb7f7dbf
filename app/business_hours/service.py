"""Business hours: calendars (a time zone, weekly open periods, holidays) that say when a
team — or the whole customer — is open. Every agent reads them; admins change them.

A team uses one (`teams.business_hours_id`), else the customer's default
(`customers.business_hours_id`), else none: open around the clock. `calendar_for_room`
is that rule, for whatever needs a room's calendar (SLA clocks, the closed reply). The
arithmetic over a calendar is `app.domain.business_time`.

Deleting a calendar that a team, the customer or an SLA policy uses is refused
(`409 business_hours_in_use`, naming them): silently falling back to another calendar
would change those rooms' deadlines without anyone deciding it. Every change writes an
event (`business_hours_created|updated|deleted`, the resource) and an audit entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.audit import log as audit
from app.business_hours import store
from app.business_hours.store import HoursChanges, HoursRow
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.domain.business_time import Calendar, CalendarError, calendar_from
from app.domain.enums import EventType
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import (
    BusinessHoursCreate,
    BusinessHoursHoliday,
    BusinessHoursOut,
    BusinessHoursPeriod,
    BusinessHoursUpdate,
)
from app.domain.timefmt import fmt, now

_NOT_FOUND = ("business_hours_not_found", "business hours calendar")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def hours_topic(customer_id: str, hours_id: str) -> str:
    return f"customer_id:{customer_id}:business_hours:{hours_id}"


def hours_out(row: HoursRow) -> BusinessHoursOut:
    return BusinessHoursOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        name=row.name,
        time_zone=row.time_zone,
        periods=[msgspec.convert(p, BusinessHoursPeriod) for p in store.as_list(row.periods)],
        holidays=[msgspec.convert(h, BusinessHoursHoliday) for h in store.as_list(row.holidays)],
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def calendar_of(hours: BusinessHoursOut) -> Calendar:
    """The calendar a resource describes (stored ones are valid: they were checked)."""
    return calendar_from(
        hours.time_zone,
        [msgspec.to_builtins(p) for p in hours.periods],
        [msgspec.to_builtins(h) for h in hours.holidays],
    )


async def calendar_for_room(
    conn: asyncpg.Connection | None, customer_id: str, team_id: str | UUID | None
) -> Calendar | None:
    """The calendar a room of `team_id` (None: no team) keeps: the team's, else the
    customer's; None when neither has one (open around the clock). On `conn` when given,
    else on the current service transaction's connection (or a pooled one)."""
    facts = await store.calendar_for_room(
        conn, str(customer_id), str(team_id) if team_id is not None else None
    )
    return None if facts is None else stored_calendar(facts)


async def calendar_by_id(
    conn: asyncpg.Connection | None, customer_id: str, hours_id: str | UUID | None
) -> Calendar | None:
    """The calendar `hours_id` of the customer (an SLA policy's own, say); None for None
    or an id that is not the customer's (open around the clock)."""
    try:
        hours_id = UUID(str(hours_id)) if hours_id is not None else None
    except ValueError:
        return None
    if hours_id is None:
        return None
    facts = await store.calendar_by_id(conn, str(customer_id), str(hours_id))
    return None if facts is None else stored_calendar(facts)


def stored_calendar(facts: store.CalendarFacts) -> Calendar:
    return calendar_from(
        facts.time_zone, store.as_list(facts.periods), store.as_list(facts.holidays)
    )


async def _event(type: EventType, out: BusinessHoursOut) -> None:
    """Every agent of the customer may read calendars, so every agent gets their events."""
    await record_event(out.customer_id, type, out, [hours_topic(out.customer_id, out.id)])


# --- checking what an admin gives -------------------------------------------------------


def _refused(error: CalendarError, field: str) -> InvalidInput:
    reasons = {
        "time_zone_invalid": "invalid_time_zone",
        "date_invalid": "invalid_holiday",
        "holiday_invalid": "invalid_holiday",
    }
    return InvalidInput(
        reasons.get(error.reason, "invalid_period"),
        f"{field}: {error.message}.",
        fields=[{"field": field, "message": error.message}],
    )


def _time_zone(name: str) -> str:
    try:
        calendar_from(name, [], [])
    except CalendarError as exc:
        raise _refused(exc, "time_zone") from None
    return name


def _periods(given: list[BusinessHoursPeriod]) -> list[dict[str, Any]]:
    """The periods checked (each a real stretch of a day, none overlapping another of its
    day; touching is fine) and in order: by day, then start."""
    checked: list[tuple[int, str, str, int]] = []
    for i, period in enumerate(given):
        try:
            calendar_from("UTC", [msgspec.to_builtins(period)], [])
        except CalendarError as exc:
            raise _refused(exc, f"periods[{i}]") from None
        checked.append((period.day, period.start, period.end, i))
    checked.sort()
    for (day, _, end, _), (next_day, start, _, i) in zip(checked, checked[1:], strict=False):
        if day == next_day and start < end:
            raise InvalidInput(
                "overlapping_periods",
                f"periods[{i}]: two periods of {DAYS[day]} overlap; touching is fine"
                " (12:00-13:00 then 13:00-17:00).",
                fields=[{"field": f"periods[{i}]", "message": "overlaps another period"}],
            )
    return [{"day": d, "start": s, "end": e} for d, s, e, _ in checked]


def _holidays(given: list[BusinessHoursHoliday]) -> list[dict[str, Any]]:
    """The holidays checked (real dates, each once) and in date order."""
    seen: dict[date, int] = {}
    for i, holiday in enumerate(given):
        try:
            (parsed,) = calendar_from("UTC", [], [msgspec.to_builtins(holiday)]).holidays
        except CalendarError as exc:
            raise _refused(exc, f"holidays[{i}]") from None
        if parsed.date in seen:
            raise InvalidInput(
                "duplicate_holiday",
                f"holidays[{i}]: {holiday.date} is listed twice.",
                fields=[{"field": f"holidays[{i}]", "message": "listed twice"}],
            )
        seen[parsed.date] = i
    ordered = sorted(given, key=lambda h: h.date)
    return [{"date": h.date, "yearly": h.yearly, "name": h.name.strip()} for h in ordered]


def _name(name: str | None) -> str | msgspec.UnsetType:
    if name is None:
        return msgspec.UNSET
    if not name.strip():
        raise InvalidInput(
            "invalid_name",
            "A calendar needs a name.",
            fields=[{"field": "name", "message": "must not be blank"}],
        )
    return name.strip()


async def check_business_hours(customer_id: str, hours_id: str | None, field: str) -> str | None:
    """`hours_id` (canonical) if it names a live calendar of the customer, which then
    cannot be deleted until the caller's transaction ends; None for None. Else a `422
    unknown_business_hours` naming `field`. For whatever points at a calendar: teams, the
    customer, SLA policies. Call it inside the transaction that stores the id."""
    if hours_id is None:
        return None
    hours_id = hours_id.lower()
    if not await store.hold(customer_id, hours_id):
        raise InvalidInput(
            "unknown_business_hours",
            f"{field} must name business hours of this customer.",
            fields=[{"field": field, "message": "no such business hours"}],
        )
    return hours_id


# --- the service ---------------------------------------------------------------------------


async def create(principal: Principal, data: BusinessHoursCreate) -> BusinessHoursOut:
    require_admin(principal)
    name = _name(data.name)
    assert isinstance(name, str)
    time_zone = _time_zone(data.time_zone)
    periods, holidays = _periods(data.periods), _holidays(data.holidays)
    async with transaction():
        row = await store.insert(
            principal.customer_id,
            name=name,
            time_zone=time_zone,
            periods=periods,
            holidays=holidays,
        )
        out = hours_out(row)
        await audit.record(
            principal.customer_id, principal, "business_hours.created", "business_hours",
            out.id, None, out,
        )  # fmt: skip
        await _event(EventType.BUSINESS_HOURS_CREATED, out)
    return out


async def get(principal: Principal, hours_id: str) -> BusinessHoursOut:
    """Any agent of the customer."""
    hours_id = parse_id(hours_id, *_NOT_FOUND)
    return hours_out(found(await store.live(principal.customer_id, hours_id), *_NOT_FOUND))


async def list_page(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[BusinessHoursOut], str]:
    """Any agent of the customer; newest first."""
    rows, token = await store.page(principal.customer_id, page_size, page_token)
    return [hours_out(r) for r in rows], token


async def update(
    principal: Principal, hours_id: str, data: BusinessHoursUpdate
) -> BusinessHoursOut:
    require_admin(principal)
    changes = HoursChanges(
        name=_name(data.name),
        time_zone=msgspec.UNSET if data.time_zone is None else _time_zone(data.time_zone),
        periods=msgspec.UNSET if data.periods is None else _periods(data.periods),
        holidays=msgspec.UNSET if data.holidays is None else _holidays(data.holidays),
    )
    hours_id = parse_id(hours_id, *_NOT_FOUND)
    async with transaction():
        row = found(await store.locked(principal.customer_id, hours_id), *_NOT_FOUND)
        before = hours_out(row)
        proposed = _proposed(before, changes)
        if proposed == before:
            return before  # nothing changes: no event, no entry, the update time stays
        after = hours_out(await store.update(row.id, changes, now()))
        await audit.record(
            principal.customer_id, principal, "business_hours.updated", "business_hours",
            after.id, before, after,
        )  # fmt: skip
        await _event(EventType.BUSINESS_HOURS_UPDATED, after)
    return after


def _proposed(before: BusinessHoursOut, changes: HoursChanges) -> BusinessHoursOut:
    """The resource as `changes` would make it (to tell a change from none)."""
    given = {
        f: value
        for f in changes.__struct_fields__
        if (value := getattr(changes, f)) is not msgspec.UNSET
    }
    if "periods" in given:
        given["periods"] = [msgspec.convert(p, BusinessHoursPeriod) for p in given["periods"]]
    if "holidays" in given:
        given["holidays"] = [msgspec.convert(h, BusinessHoursHoliday) for h in given["holidays"]]
    return msgspec.structs.replace(before, **given)


def _named(user: store.User) -> str:
    if user.kind == "customer":
        return "the customer's default"
    what = "team" if user.kind == "team" else "SLA policy"
    return f"the {what} {user.name!r}"


async def delete(principal: Principal, hours_id: str) -> BusinessHoursOut:
    """Refused while anything uses the calendar (`409 business_hours_in_use`)."""
    require_admin(principal)
    hours_id = parse_id(hours_id, *_NOT_FOUND)
    async with transaction():
        row = found(await store.locked(principal.customer_id, hours_id), *_NOT_FOUND)
        users = await store.users(principal.customer_id, row.id)
        if users:
            names = ", ".join(_named(u) for u in users)
            raise Conflict(
                "business_hours_in_use",
                f"These business hours are used by {names}: choose other hours there first.",
            )
        before = hours_out(row)
        out = hours_out(await store.soft_delete(row.id, now()))
        await audit.record(
            principal.customer_id, principal, "business_hours.deleted", "business_hours",
            out.id, before, None,
        )  # fmt: skip
        await _event(EventType.BUSINESS_HOURS_DELETED, out)
    return out


async def uses(principal: Principal) -> dict[str, list[store.User]]:
    """What uses each calendar of the customer (the admin page shows it)."""
    return await store.uses(principal.customer_id)
