"""Admin → Business hours (`/admin/business-hours`): the customer's calendars (time zone,
open periods per weekday, holidays), what uses each, the customer's default; create,
edit, delete. Every rule is in `business_hours.service`, the code `/v1.0/business_hours`
calls; this module reads forms and picks templates. Works without JavaScript.

A day's periods are typed as one line ("09:00-12:00, 13:00-17:00") and holidays one per
line ("2026-12-25 yearly Christmas"): a short text per day is quicker to fill in, and to
read back, than rows of time pickers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.business_hours import service
from app.desk.admin_agents import _all
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import admin_context, form_text, page_router
from app.desk.forms import FormRefused, convert
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal
from app.domain.resources import (
    BusinessHoursCreate,
    BusinessHoursOut,
    BusinessHoursPeriod,
    BusinessHoursUpdate,
    CustomerUpdate,
)
from app.people import customers

DAYS = service.DAYS
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LABELS = {"name": "The name", "time_zone": "The time zone"}
_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*(?:-|–|—|to)\s*(\d{1,2}):(\d{2})$")
ZONES = sorted(available_timezones() - {"localtime", "Factory"})


def _hhmm(hour: str, minute: str) -> str:
    return f"{int(hour):02d}:{minute}"


def day_line(periods: list[BusinessHoursPeriod], day: int) -> str:
    """A day's periods as the form shows them: "09:00-12:00, 13:00-17:00"."""
    return ", ".join(f"{p.start}-{p.end}" for p in periods if p.day == day)


def summary(hours: BusinessHoursOut) -> list[str]:
    """The week in a few lines, days with the same periods together: "Mon–Fri
    09:00–12:00, 13:00–17:00"."""
    lines: list[str] = []
    day = 0
    while day < 7:
        text = day_line(hours.periods, day)
        last = day
        while last + 1 < 7 and day_line(hours.periods, last + 1) == text:
            last += 1
        if text:
            days = SHORT_DAYS[day] if last == day else f"{SHORT_DAYS[day]}–{SHORT_DAYS[last]}"
            lines.append(f"{days} {text.replace('-', '–')}")
        day = last + 1
    return lines or ["Never open"]


def _periods(typed: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for day, name in enumerate(DAYS):
        for part in (p.strip() for p in typed[f"day_{day}"].split(",")):
            if not part:
                continue
            m = _PERIOD.match(part)
            if m is None:
                raise FormRefused(
                    "invalid_form",
                    f"{name}: “{part}” is not a period like 09:00-17:00.",
                    f"day_{day}",
                )
            found.append({"day": day, "start": _hhmm(m[1], m[2]), "end": _hhmm(m[3], m[4])})
    return found


def _holidays(text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        date, _, rest = line.partition(" ")
        rest = rest.strip()
        yearly = rest.lower() == "yearly" or rest.lower().startswith("yearly ")
        name = rest[6:].strip() if yearly else rest
        found.append({"date": date, "yearly": yearly, "name": name})
    return found


def _typed(form: Any) -> dict[str, Any]:
    typed = {
        "name": form_text(form, "name"),
        "time_zone": form_text(form, "time_zone"),
        "holidays": form_text(form, "holidays"),
    }
    for day in range(7):
        typed[f"day_{day}"] = form_text(form, f"day_{day}")
    return typed


def _body(typed: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": typed["name"],
        "time_zone": typed["time_zone"],
        "periods": _periods(typed),
        "holidays": _holidays(typed["holidays"]),
    }


def _field_of(exc: Exception, body: dict[str, Any] | None) -> str:
    """The input a refusal is about: a period's day, the holidays, or the named field."""
    field = getattr(exc, "field", "") or next(
        (f.get("field", "") for f in getattr(exc, "fields", [])), ""
    )
    m = re.match(r"^periods\[(\d+)\]", field)
    if m and body is not None:
        ordered = sorted((p["day"], p["start"], i) for i, p in enumerate(body["periods"]))
        index = int(m[1])
        return f"day_{ordered[index][0]}" if index < len(ordered) else ""
    if field.startswith("holidays"):
        return "holidays"
    return field.split("[")[0].split(".")[0]


def _values(hours: BusinessHoursOut | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": hours.name if hours else "",
        "time_zone": hours.time_zone if hours else "UTC",
        "holidays": "\n".join(
            " ".join(x for x in (h.date, "yearly" if h.yearly else "", h.name) if x)
            for h in (hours.holidays if hours else [])
        ),
    }
    for day in range(7):
        values[f"day_{day}"] = day_line(hours.periods, day) if hours else ""
    return values


async def _list_page(
    principal: Principal, *, saved: str = "", deleted: str = "", error: str = ""
) -> Template:
    found = await _all(service.list_page, principal)
    found.sort(key=lambda h: h.name.lower())
    customer = await customers.get_customer(principal)
    context = await admin_context(
        principal,
        "business-hours",
        hours_list=found,
        summary=summary,
        uses=await service.uses(principal),
        default_id=customer.business_hours_id,
        saved=saved,
        deleted=deleted,
        error=error,
    )
    return Template("admin/business_hours.html", context=context)


async def _form_page(
    principal: Principal,
    *,
    hours: BusinessHoursOut | None = None,
    typed: dict[str, Any] | None = None,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    uses = (await service.uses(principal)).get(hours.id, []) if hours else []
    context = await admin_context(
        principal,
        "business-hours",
        hours=hours,
        values=typed or _values(hours),
        days=list(enumerate(DAYS)),
        zones=ZONES,
        used_by=uses,
        error=error,
        error_field=error_field,
    )
    return Template("admin/business_hours_form.html", context=context, status_code=status_code)


class BusinessHoursController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def hours_page(
        self, principal: Principal, saved: str = "", deleted: str = ""
    ) -> Template:
        return await _list_page(principal, saved=saved[:64], deleted=deleted[:255])

    @get("/new")
    async def new_hours(self, principal: Principal) -> Template:
        return await _form_page(principal)

    @post("/")
    async def create_hours(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        body = None
        try:
            body = _body(typed)
            hours = await service.create(principal, convert(body, BusinessHoursCreate, LABELS))
        except InvalidInput as exc:
            return await _form_page(
                principal, typed=typed, error=exc.message, error_field=_field_of(exc, body),
                status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/business-hours?saved={hours.id}#hours-{hours.id}", status_code=303)

    @post("/default")
    async def choose_default(self, request: Request, principal: Principal) -> Response:
        chosen = form_text(await request.form(), "business_hours_id") or None
        try:
            await customers.update_customer(principal, CustomerUpdate(business_hours_id=chosen))
        except InvalidInput as exc:
            return await _list_page(principal, error=exc.message)
        return Redirect("/admin/business-hours?saved=default", status_code=303)

    @get("/{hours_id:str}")
    async def edit_hours(self, principal: Principal, hours_id: str) -> Template:
        return await _form_page(principal, hours=await service.get(principal, hours_id))

    @post("/{hours_id:str}")
    async def save_hours(self, request: Request, principal: Principal, hours_id: str) -> Response:
        hours = await service.get(principal, hours_id)
        typed = _typed(await request.form())
        body = None
        try:
            body = _body(typed)
            await service.update(principal, hours.id, convert(body, BusinessHoursUpdate, LABELS))
        except InvalidInput as exc:
            return await _form_page(
                principal, hours=hours, typed=typed, error=exc.message,
                error_field=_field_of(exc, body), status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/business-hours?saved={hours.id}#hours-{hours.id}", status_code=303)

    @post("/{hours_id:str}/delete")
    async def delete_hours(self, principal: Principal, hours_id: str) -> Response:
        hours = await service.get(principal, hours_id)
        try:
            await service.delete(principal, hours.id)
        except Conflict as exc:
            return await _form_page(
                principal, hours=hours, error=exc.message, status_code=exc.status_code
            )
        query = urlencode({"deleted": hours.name[:200]})
        return Redirect(f"/admin/business-hours?{query}", status_code=303)


ROUTES: list = [page_router("/admin/business-hours", BusinessHoursController)]
