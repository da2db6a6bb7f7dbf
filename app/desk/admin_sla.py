"""Admin → SLA (`/admin/sla`): the SLA policies in the order rooms are matched to them
(priority and team, team, priority, neither), each with its targets and calendar; create,
edit, delete. Every rule is in `sla.service`, the code `/v1.0/sla_policies` calls. Works
without JavaScript. Also a room's clocks explained, interval by interval, for its side
panel (`/conversations/{id}/sla`, what `GET /v1.0/conversations/{id}/sla` returns)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.desk.admin_agents import _teams
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import admin_context, form_text, page_router
from app.desk.forms import FormRefused, convert
from app.desk.session import DESK_PRINCIPAL
from app.domain.enums import Priority
from app.domain.errors import InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import SlaPolicyCreate, SlaPolicyOut, SlaPolicyUpdate
from app.sla import service

TARGETS = [
    (
        "first_response_minutes",
        "First response",
        "From the customer's first message to the first reply.",
    ),
    (
        "next_response_minutes",
        "Next response",
        "From a customer message after a reply to the next reply.",
    ),
    (
        "resolution_minutes",
        "Resolution",
        "From the customer's first message to the close; paused while the customer owes a reply.",
    ),
]
LABELS = {
    "name": "The name",
    "priority": "The priority",
    "team_id": "The team",
    "business_hours_id": "The business hours",
    "first_response_minutes": "The first response target",
    "next_response_minutes": "The next response target",
    "resolution_minutes": "The resolution target",
}
FIELDS = ["name", "priority", "team_id", "business_hours_id"] + [t for t, _, _ in TARGETS]


def minutes_label(minutes: int | None) -> str:
    """ "15 min", "2 h", "1 h 30 min": how the page shows a target."""
    if minutes is None:
        return "—"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


async def _context(principal: Principal, **extra: Any) -> dict[str, Any]:
    teams = await _teams(principal)
    return await admin_context(
        principal,
        "sla",
        teams=teams,
        team_names={t.id: t.name for t in teams},
        calendars=await service.calendars(principal),
        priorities=[p.value for p in Priority],
        targets=TARGETS,
        minutes_label=minutes_label,
        **extra,
    )


async def _list_page(principal: Principal, saved: str = "", deleted: str = "") -> Template:
    context = await _context(
        principal,
        policies=await service.in_match_order(principal),
        saved=saved,
        deleted=deleted,
    )
    return Template("admin/sla.html", context=context)


async def _form_page(
    principal: Principal,
    *,
    policy: SlaPolicyOut | None = None,
    typed: dict[str, str] | None = None,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    values = typed or {
        field: (
            "" if policy is None or getattr(policy, field) is None else str(getattr(policy, field))
        )
        for field in FIELDS
    }
    context = await _context(
        principal, policy=policy, values=values, error=error, error_field=error_field
    )
    return Template("admin/sla_form.html", context=context, status_code=status_code)


def _typed(form: FormMultiDict) -> dict[str, str]:
    return {field: form_text(form, field) for field in FIELDS}


def _body(typed: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": typed["name"]}
    for field in ("priority", "team_id", "business_hours_id"):
        body[field] = typed[field] or None
    for field, label, _ in TARGETS:
        text = typed[field]
        if not text:
            body[field] = None
            continue
        try:
            body[field] = int(text)
        except ValueError:
            raise FormRefused(
                "invalid_form", f"{label}: a whole number of minutes, or empty.", field
            ) from None
    return body


def _field_of(exc: Exception) -> str:
    field = getattr(exc, "field", "")
    reason = getattr(exc, "reason", "")
    if reason == "team_not_found":
        return "team_id"
    if reason == "business_hours_not_found":
        return "business_hours_id"
    if reason == "sla_target_required":
        return "first_response_minutes"
    if reason == "invalid_name":
        return "name"
    return field.split("[")[0] if field else ""


class SlaController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def sla_page(self, principal: Principal, saved: str = "", deleted: str = "") -> Template:
        return await _list_page(principal, saved=saved[:64], deleted=deleted[:255])

    @get("/new")
    async def new_policy(self, principal: Principal) -> Template:
        return await _form_page(principal)

    @post("/")
    async def create_policy(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        try:
            policy = await service.create(principal, convert(_body(typed), SlaPolicyCreate, LABELS))
        except (InvalidInput, NotFound) as exc:
            return await _form_page(
                principal, typed=typed, error=exc.message, error_field=_field_of(exc),
                status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/sla?saved={policy.id}#policy-{policy.id}", status_code=303)

    @get("/{policy_id:str}")
    async def edit_policy(self, principal: Principal, policy_id: str) -> Template:
        return await _form_page(principal, policy=await service.get(principal, policy_id))

    @post("/{policy_id:str}")
    async def save_policy(self, request: Request, principal: Principal, policy_id: str) -> Response:
        policy = await service.get(principal, policy_id)
        typed = _typed(await request.form())
        try:
            data = convert(_body(typed), SlaPolicyUpdate, LABELS)
            await service.update(principal, policy.id, data)
        except (InvalidInput, NotFound) as exc:
            return await _form_page(
                principal, policy=policy, typed=typed, error=exc.message,
                error_field=_field_of(exc), status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/sla?saved={policy.id}#policy-{policy.id}", status_code=303)

    @post("/{policy_id:str}/delete")
    async def delete_policy(self, principal: Principal, policy_id: str) -> Response:
        policy = await service.delete(principal, policy_id)
        return Redirect("/admin/sla?" + urlencode({"deleted": policy.name[:200]}), status_code=303)


KINDS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}
REASONS = {
    None: "counted",
    "outside_business_hours": "outside business hours",
    "waiting_on_customer": "waiting on the customer",
    "snoozed": "snoozed",
    "closed": "closed",
}


def span(seconds: float) -> str:
    """Business time counted, as "12 min" or "3 h 05 min"."""
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


class RoomSlaController(Controller):
    """A room's clocks for its side panel (any agent who may see the room)."""

    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/{conversation_id:str}/sla")
    async def room_sla(self, principal: Principal, conversation_id: str) -> Template:
        clocks = await service.room_clocks(principal, conversation_id)
        return Template(
            "partials/sla_audit.html",
            context={"clocks": clocks.result, "kinds": KINDS, "reasons": REASONS, "span": span},
        )


ROUTES: list = [
    page_router("/admin/sla", SlaController),
    page_router("/conversations", RoomSlaController),
]
