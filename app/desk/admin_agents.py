"""Admin → Agents (`/admin/agents`): who works here, their role, availability, teams,
and how many open rooms they hold against their capacity; add an agent (its first
password generated and shown once), edit one (name, role, capacity, teams), reset its
password (shown once), deactivate and reactivate it.

Every rule is in the services the API calls: `people.agents` (create),
`routing.availability.update_agent` (the API's `PUT /v1.0/agents/{id}`: deactivation
returns the agent's rooms to routing, more capacity drains its teams' queues) and
`routing.teams` (membership). Pages work without JavaScript; a password is shown in the
answer to the POST that made it, never in a URL."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.core.events import last_event_id
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import NO_STORE, admin_context, form_text, page_router
from app.desk.forms import FormRefused, convert
from app.domain.enums import AgentStatus, Permission
from app.domain.errors import Conflict, InvalidInput, NotFound, ServiceError
from app.domain.principal import Principal
from app.domain.resources import AgentCreate, AgentOut, AgentUpdate, TeamOut, TeamUpdate
from app.people import agents
from app.routing import availability
from app.routing import teams as teams_service

ROLES = [
    (Permission.AGENT.value, "Agent", "Answers the conversations assigned to them or unassigned."),
    (Permission.MANAGER.value, "Manager", "Sees every conversation of the customer."),
    (Permission.ADMIN.value, "Admin", "Also manages agents, teams, channels and settings."),
]
LABELS = {
    "username": "The username",
    "name": "The name",
    "permission": "The role",
    "max_open": "The capacity",
    "team_ids": "The teams",
}
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/l/I: a password read off a screen and typed elsewhere."""


def new_password() -> str:
    """A strong first password, easy to read out: 4 groups of 5 (about 116 bits)."""
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(5)) for _ in range(4)]
    return "-".join(groups)


# --- reading ------------------------------------------------------------------------------


async def _all(list_page: Any, principal: Principal) -> list[Any]:
    """Every item of a keyset list (a customer has tens of agents and teams)."""
    items, token = await list_page(principal)
    while token:
        more, token = await list_page(principal, page_token=token)
        items.extend(more)
    return list(items)


async def _teams(principal: Principal) -> list[TeamOut]:
    found = await _all(teams_service.list_teams, principal)
    return sorted(found, key=lambda t: t.name.lower())


def capacity(agent: AgentOut, team_list: list[TeamOut]) -> int | None:
    """The open rooms routing may give the agent: its own `max_open`, else the largest of
    its teams' (routing applies each team's own); None when neither says."""
    if agent.max_open is not None:
        return agent.max_open
    limits = [t.max_open for t in team_list if t.id in agent.team_ids]
    return max(limits) if limits else None


async def _list_page(principal: Principal, **extra: Any) -> Template:
    # read before the page's queries: the desk socket replays what commits meanwhile
    since = await last_event_id(principal.customer_id)
    team_list = await _teams(principal)
    people = await _all(agents.list_agents, principal)
    people.sort(
        key=lambda a: (a.status != AgentStatus.ACTIVE.value, (a.name or a.username).lower())
    )
    context = await admin_context(
        principal,
        "agents",
        people=people,
        teams_by_id={t.id: t for t in team_list},
        open_counts=await agents.open_counts(principal),
        capacity=lambda a: capacity(a, team_list),
        live_page="agents",
        since=since,
        **extra,
    )
    headers = NO_STORE if extra.get("password") else None
    return Template("admin/agents.html", context=context, headers=headers)


async def row_context(principal: Principal, agent_id: str) -> dict[str, Any] | None:
    """What one agent's row of the list renders with, as it is now (the desk socket
    pushes it again on a change); None when the agent is gone (deleted)."""
    try:
        agent = await agents.get_agent(principal, agent_id)
    except NotFound:
        return None
    team_list = await _teams(principal)
    return {
        "a": agent,
        "teams_by_id": {t.id: t for t in team_list},
        "open_counts": await agents.open_counts(principal),
        "capacity": lambda a: capacity(a, team_list),
    }


async def _form_page(
    principal: Principal,
    *,
    agent: AgentOut | None = None,
    typed: dict[str, Any] | None = None,
    error: str = "",
    error_field: str = "",
    password: str = "",
    saved: str = "",
    status_code: int = 200,
) -> Template:
    values = typed or {
        "username": "",
        "name": agent.name if agent else "",
        "permission": agent.permission if agent else Permission.AGENT.value,
        "max_open": "" if agent is None or agent.max_open is None else str(agent.max_open),
        "team_ids": list(agent.team_ids) if agent else [],
    }
    context = await admin_context(
        principal,
        "agents",
        agent=agent,
        values=values,
        roles=ROLES,
        team_list=await _teams(principal),
        open_count=(await agents.open_counts(principal)).get(agent.id, 0) if agent else 0,
        error=error,
        error_field=error_field,
        password=password,
        saved=saved,
    )
    return Template(
        "admin/agent_form.html",
        context=context,
        status_code=status_code,
        headers=NO_STORE if password else None,
    )


# --- reading forms ------------------------------------------------------------------------


def _typed(form: FormMultiDict) -> dict[str, Any]:
    return {
        "username": form_text(form, "username"),
        "name": form_text(form, "name"),
        "permission": form_text(form, "permission"),
        "max_open": form_text(form, "max_open"),
        "team_ids": [str(v) for v in form.getall("team_ids", []) if isinstance(v, str)],
    }


def _max_open(text: str) -> int | None:
    """The capacity field: blank is "the team's"; otherwise a whole number 1-10,000."""
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise FormRefused(
            "invalid_form", "The capacity must be a whole number (or blank).", "max_open"
        ) from None
    if not 1 <= value <= 10000:
        raise FormRefused("invalid_form", "The capacity must be 1 to 10,000.", "max_open")
    return value


def _permission(text: str) -> str:
    if text not in {r for r, _, _ in ROLES}:
        raise FormRefused("invalid_form", "Choose a role.", "permission")
    return text


async def _set_teams(
    principal: Principal, agent_id: str, wanted: list[str], team_list: list[TeamOut]
) -> None:
    """Make the agent a member of exactly the `wanted` teams (through the teams service,
    which audits each change and lets a team's queue drain to its new member)."""
    known = {t.id: t for t in team_list}
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise FormRefused("invalid_form", "One of the chosen teams no longer exists.", "team_ids")
    for team in team_list:
        member = agent_id in team.agent_ids
        if (team.id in wanted) == member:
            continue
        ids = [a for a in team.agent_ids if a != agent_id]
        if team.id in wanted:
            ids.append(agent_id)
        await teams_service.update_team(principal, team.id, TeamUpdate(agent_ids=ids))


def _refusal(exc: ServiceError) -> tuple[str, str]:
    """The message and the field a refusal is about (for the form to mark it)."""
    field = getattr(exc, "field", "")
    if exc.reason == "username_taken":
        field = "username"
    return exc.message, field


# --- the pages ----------------------------------------------------------------------------


class AgentsController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def agents_page(self, principal: Principal, saved: str = "") -> Template:
        return await _list_page(principal, saved=saved[:64])

    @get("/table")
    async def agents_table(self, principal: Principal) -> Template:
        """The table alone (as the page shows it; the page itself stays current through
        the desk socket's pushes)."""
        page = await _list_page(principal)
        page.template_name = "admin/agents_table.html"
        return page

    @get("/new")
    async def new_agent(self, principal: Principal) -> Template:
        return await _form_page(principal)

    @post("/")
    async def create_agent(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        password = new_password()
        try:
            data = convert(
                {
                    "username": typed["username"],
                    "name": typed["name"],
                    "permission": _permission(typed["permission"]),
                    "password": password,
                    "max_open": _max_open(typed["max_open"]),
                },
                AgentCreate,
                LABELS,
            )
            team_list = await _teams(principal)
            if any(t not in {x.id for x in team_list} for t in typed["team_ids"]):
                raise FormRefused(
                    "invalid_form", "One of the chosen teams no longer exists.", "team_ids"
                )
            created = await agents.create_agent(principal, data)
        except (InvalidInput, Conflict) as exc:
            message, field = _refusal(exc)
            return await _form_page(
                principal,
                typed=typed,
                error=message,
                error_field=field,
                status_code=exc.status_code,
            )
        await _set_teams(principal, created.id, typed["team_ids"], team_list)
        return await _list_page(principal, created=created, password=password)

    @get("/{agent_id:str}")
    async def edit_agent(self, principal: Principal, agent_id: str, saved: str = "") -> Template:
        agent = await agents.get_agent(principal, agent_id)
        return await _form_page(principal, agent=agent, saved=saved[:64])

    @post("/{agent_id:str}")
    async def save_agent(self, request: Request, principal: Principal, agent_id: str) -> Response:
        agent = await agents.get_agent(principal, agent_id)
        typed = _typed(await request.form())
        typed["username"] = agent.username
        try:
            max_open = _max_open(typed["max_open"])
            data = convert(
                {
                    "name": typed["name"],
                    "permission": _permission(typed["permission"]),
                    "max_open": max_open,
                },
                AgentUpdate,
                LABELS,
            )
            await availability.update_agent(principal, agent.id, data)
            await _set_teams(principal, agent.id, typed["team_ids"], await _teams(principal))
        except (InvalidInput, Conflict) as exc:
            message, field = _refusal(exc)
            return await _form_page(
                principal,
                agent=await agents.get_agent(principal, agent.id),
                typed=typed,
                error=message,
                error_field=field,
                status_code=exc.status_code,
            )
        return Redirect(f"/admin/agents?saved={agent.id}", status_code=303)

    @post("/{agent_id:str}/password")
    async def reset_password(self, principal: Principal, agent_id: str) -> Template:
        password = new_password()
        agent = await availability.update_agent(principal, agent_id, AgentUpdate(password=password))
        return await _form_page(principal, agent=agent, password=password)

    @post("/{agent_id:str}/deactivate")
    async def deactivate(self, principal: Principal, agent_id: str) -> Response:
        return await self._status(principal, agent_id, AgentStatus.DEACTIVATED)

    @post("/{agent_id:str}/reactivate")
    async def reactivate(self, principal: Principal, agent_id: str) -> Response:
        return await self._status(principal, agent_id, AgentStatus.ACTIVE)

    async def _status(self, principal: Principal, agent_id: str, status: AgentStatus) -> Response:
        try:
            agent = await availability.update_agent(principal, agent_id, AgentUpdate(status=status))
        except Conflict as exc:
            return await _form_page(
                principal,
                agent=await agents.get_agent(principal, agent_id),
                error=exc.message,
                status_code=exc.status_code,
            )
        return Redirect(f"/admin/agents/{agent.id}?saved={status.value}", status_code=303)


ROUTES: list = [page_router("/admin/agents", AgentsController)]
