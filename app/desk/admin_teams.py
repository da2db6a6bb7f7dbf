"""Admin → Teams (`/admin/teams`): each team's members (with their availability), the
channel accounts whose new conversations it receives, how it gives them out (by hand,
round robin, least busy), each member's capacity and the reassign timer; create, edit,
delete. Every rule is in `routing.teams`, the code `/v1.0/teams` calls (an account routes
to one team: taking one another team has is refused in words). Works without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.business_hours import service as business_hours
from app.channels import accounts, get_driver
from app.core.events import last_event_id
from app.desk.admin_agents import _all
from app.desk.admin_channels import _all_accounts, admin_principal
from app.desk.admin_kit import admin_context, form_text, page_router
from app.desk.forms import FormRefused, convert
from app.domain.enums import AgentStatus, AssignmentPolicy
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal
from app.domain.resources import AccountOut, TeamCreate, TeamOut, TeamUpdate
from app.people import agents
from app.routing import teams

POLICIES = [
    (
        AssignmentPolicy.MANUAL.value,
        "By hand",
        "Conversations wait unassigned until someone takes one.",
    ),
    (
        AssignmentPolicy.ROUND_ROBIN.value,
        "Round robin",
        "Each new conversation goes to the next online member with room, in turn.",
    ),
    (
        AssignmentPolicy.LEAST_BUSY.value,
        "Least busy",
        "Each new conversation goes to the online member with the fewest open.",
    ),
]
REASSIGN_CHOICES = [
    # (seconds, label)
    (0, "Never"),
    (300, "After 5 minutes"),
    (600, "After 10 minutes"),
    (900, "After 15 minutes"),
    (1800, "After 30 minutes"),
    (3600, "After 1 hour"),
    (14400, "After 4 hours"),
]
LABELS = {
    "name": "The name",
    "detail": "The description",
    "assignment_policy": "The assignment",
    "max_open": "The capacity",
    "reassign_after": "The reassign timer",
    "agent_ids": "The members",
    "account_ids": "The channels",
    "business_hours_id": "The business hours",
}


def reassign_label(seconds: int) -> str:
    for value, label in REASSIGN_CHOICES:
        if value == seconds:
            return label.lower() if value == 0 else label.lower().replace("after ", "")
    return f"{round(seconds / 60)} minutes"


def _channel_of(account: AccountOut) -> str:
    """The channel an account carries (`message`, `email`…), for its icon."""
    driver = get_driver(account.type)
    return driver.reference_type(accounts.as_listed(account)).value


async def _context(principal: Principal, **extra: Any) -> dict[str, Any]:
    found_accounts = await _all_accounts(principal)
    people = await _all(agents.list_agents, principal)
    people = [a for a in people if a.status == AgentStatus.ACTIVE.value]
    people.sort(key=lambda a: (a.name or a.username).lower())
    hours = await _all(business_hours.list_page, principal)
    hours.sort(key=lambda h: h.name.lower())
    return await admin_context(
        principal,
        "teams",
        people=people,
        people_by_id={a.id: a for a in people},
        online_ids={a.id for a in people if a.availability == "online"},
        accounts=found_accounts,
        account_channel={a.id: _channel_of(a) for a in found_accounts},
        policies=POLICIES,
        policy_labels={p: label for p, label, _ in POLICIES},
        reassign_choices=REASSIGN_CHOICES,
        reassign_label=reassign_label,
        hours_list=hours,
        hours_names={h.id: h.name for h in hours},
        **extra,
    )


async def online_context(principal: Principal) -> dict[str, Any]:
    """What each team's member count, online count and avatars render with, as they are
    now (the desk socket pushes them again when availability or membership changes)."""
    people = await _all(agents.list_agents, principal)
    people = [a for a in people if a.status == AgentStatus.ACTIVE.value]
    return {
        "team_list": await _teams(principal),
        "people_by_id": {a.id: a for a in people},
        "online_ids": {a.id for a in people if a.availability == "online"},
    }


async def _teams(principal: Principal) -> list[TeamOut]:
    found = await _all(teams.list_teams, principal)
    return sorted(found, key=lambda t: t.name.lower())


async def _list_page(principal: Principal, saved: str = "", deleted: str = "") -> Template:
    # read before the page's queries: the desk socket replays what commits meanwhile
    since = await last_event_id(principal.customer_id)
    team_list = await _teams(principal)
    context = await _context(
        principal,
        live_page="teams",
        since=since,
        team_list=team_list,
        account_team={a: t for t in team_list for a in t.account_ids},
        saved=saved,
        deleted=deleted,
    )
    return Template("admin/teams.html", context=context)


async def _form_page(
    principal: Principal,
    *,
    team: TeamOut | None = None,
    typed: dict[str, Any] | None = None,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    values = typed or {
        "name": team.name if team else "",
        "detail": team.detail if team else "",
        "assignment_policy": team.assignment_policy if team else AssignmentPolicy.ROUND_ROBIN.value,
        "max_open": str(team.max_open) if team else "5",
        "reassign_after": str(team.reassign_after) if team else "0",
        "agent_ids": list(team.agent_ids) if team else [],
        "account_ids": list(team.account_ids) if team else [],
        "business_hours_id": (team.business_hours_id or "") if team else "",
    }
    team_list = await _teams(principal)
    context = await _context(
        principal,
        team=team,
        values=values,
        account_team={
            a: t for t in team_list if not team or t.id != team.id for a in t.account_ids
        },
        error=error,
        error_field=error_field,
    )
    return Template("admin/team_form.html", context=context, status_code=status_code)


def _typed(form: FormMultiDict) -> dict[str, Any]:
    return {
        "name": form_text(form, "name"),
        "detail": form_text(form, "detail"),
        "assignment_policy": form_text(form, "assignment_policy"),
        "max_open": form_text(form, "max_open"),
        "reassign_after": form_text(form, "reassign_after"),
        "agent_ids": [str(v) for v in form.getall("agent_ids", []) if isinstance(v, str)],
        "account_ids": [str(v) for v in form.getall("account_ids", []) if isinstance(v, str)],
        "business_hours_id": form_text(form, "business_hours_id"),
    }


def _number(text: str, field: str, words: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormRefused("invalid_form", words, field) from None


def _body(typed: dict[str, Any]) -> dict[str, Any]:
    if typed["assignment_policy"] not in {p for p, _, _ in POLICIES}:
        raise FormRefused(
            "invalid_form", "Choose how conversations are assigned.", "assignment_policy"
        )
    return {
        "name": typed["name"],
        "detail": typed["detail"],
        "assignment_policy": typed["assignment_policy"],
        "max_open": _number(
            typed["max_open"], "max_open", "The capacity must be a whole number, 1 or more."
        ),
        "reassign_after": _number(
            typed["reassign_after"] or "0", "reassign_after", "Choose when to reassign."
        ),
        "agent_ids": typed["agent_ids"],
        "account_ids": typed["account_ids"],
        "business_hours_id": typed["business_hours_id"] or None,
    }


def _field_of(exc: Exception) -> str:
    field = getattr(exc, "field", "")
    reason = getattr(exc, "reason", "")
    if reason == "unknown_agent":
        return "agent_ids"
    if reason in ("unknown_account", "account_in_other_team"):
        return "account_ids"
    if reason == "invalid_name":
        return "name"
    if reason == "unknown_business_hours":
        return "business_hours_id"
    return field.split("[")[0] if field else ""


class TeamsController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def teams_page(
        self, principal: Principal, saved: str = "", deleted: str = ""
    ) -> Template:
        return await _list_page(principal, saved=saved[:64], deleted=deleted[:255])

    @get("/new")
    async def new_team(self, principal: Principal) -> Template:
        return await _form_page(principal)

    @post("/")
    async def create_team(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        try:
            team = await teams.create_team(principal, convert(_body(typed), TeamCreate, LABELS))
        except (InvalidInput, Conflict) as exc:
            return await _form_page(
                principal, typed=typed, error=exc.message, error_field=_field_of(exc),
                status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/teams?saved={team.id}#team-{team.id}", status_code=303)

    @get("/{team_id:str}")
    async def edit_team(self, principal: Principal, team_id: str) -> Template:
        return await _form_page(principal, team=await teams.get_team(principal, team_id))

    @post("/{team_id:str}")
    async def save_team(self, request: Request, principal: Principal, team_id: str) -> Response:
        team = await teams.get_team(principal, team_id)
        typed = _typed(await request.form())
        try:
            data = convert(_body(typed), TeamUpdate, LABELS)
            await teams.update_team(principal, team.id, data)
        except (InvalidInput, Conflict) as exc:
            return await _form_page(
                principal, team=team, typed=typed, error=exc.message,
                error_field=_field_of(exc), status_code=exc.status_code,
            )  # fmt: skip
        return Redirect(f"/admin/teams?saved={team.id}#team-{team.id}", status_code=303)

    @post("/{team_id:str}/delete")
    async def delete_team(self, principal: Principal, team_id: str) -> Response:
        team = await teams.delete_team(principal, team_id)
        return Redirect("/admin/teams?" + urlencode({"deleted": team.name[:200]}), status_code=303)


ROUTES: list = [page_router("/admin/teams", TeamsController)]
