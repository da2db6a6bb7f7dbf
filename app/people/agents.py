"""Agents: the people who sign in to the desk and the API. Admins manage them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.core.events import transaction
from app.core.ids import found, parse_id
from app.domain.enums import Permission
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import AgentCreate, AgentOut, AgentUpdate, MeUpdate, PasswordChange
from app.domain.timefmt import fmt, now
from app.audit import log as audit
from app.people import agent_store, auth, customer_store
from app.people.agent_store import AgentChanges, AgentRow, Colleague
from app.people.passwords import hash_password


def agent_out(row: AgentRow) -> AgentOut:
    return AgentOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        username=row.username,
        name=row.name,
        detail=row.detail,
        permission=row.permission,
        status=row.status,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def validated_create(**fields: Any) -> AgentCreate:
    """Check fields from outside the API (the CLI) by the same rules as an API body."""
    try:
        return msgspec.convert(fields, AgentCreate)
    except msgspec.ValidationError as exc:
        raise InvalidInput("invalid_agent", f"Invalid agent: {exc}") from None


_USERNAME_TAKEN = Conflict("username_taken", "That username is already in use.")


async def insert_agent(customer_id: str, data: AgentCreate) -> AgentOut:
    username = data.username.lower()
    if await agent_store.username_taken(username):
        raise _USERNAME_TAKEN
    password_hash = await hash_password(data.password)
    try:
        row = await agent_store.insert(
            customer_id,
            username=username,
            name=data.name,
            detail=data.detail,
            password_hash=password_hash,
            permission=data.permission,
        )
    except asyncpg.UniqueViolationError:  # lost a race with another insert of this name
        raise _USERNAME_TAKEN from None
    return agent_out(row)


async def create_agent(principal: Principal, data: AgentCreate) -> AgentOut:
    require_admin(principal)
    async with transaction():
        return await insert_agent(principal.customer_id, data)


_NO_AGENT = ("agent_not_found", "agent")


async def _live_row(principal: Principal, agent_id: str) -> AgentRow:
    agent_id = parse_id(agent_id, *_NO_AGENT)
    return found(await agent_store.live(principal.customer_id, agent_id), *_NO_AGENT)


async def get_agent(principal: Principal, agent_id: str) -> AgentOut:
    require_admin(principal)
    return agent_out(await _live_row(principal, agent_id))


async def list_agents(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AgentOut], str]:
    require_admin(principal)
    rows, token = await agent_store.page(principal.customer_id, page_size, page_token)
    return [agent_out(r) for r in rows], token


async def _other_admins(customer_id: str, agent_id: str) -> int:
    # Lock the customer row first, so two admins demoting each other at the same moment
    # are serialized and the second one sees the first one's change.
    await customer_store.lock(customer_id)
    return await agent_store.other_admins(customer_id, agent_id)


_LAST_ADMIN = Conflict(
    "last_admin", "A customer must keep at least one admin: promote another agent first."
)


async def update_agent(principal: Principal, agent_id: str, data: AgentUpdate) -> AgentOut:
    require_admin(principal)
    changes = AgentChanges(
        name=msgspec.UNSET if data.name is None else data.name,
        detail=msgspec.UNSET if data.detail is None else data.detail,
        permission=msgspec.UNSET if data.permission is None else data.permission.value,
        status=msgspec.UNSET if data.status is None else data.status.value,
        password_hash=(
            msgspec.UNSET if data.password is None else await hash_password(data.password)
        ),
    )
    async with transaction():
        row = await _live_row(principal, agent_id)
        demoting = data.permission not in (None, Permission.ADMIN)
        if demoting and row.permission == Permission.ADMIN.value:
            if await _other_admins(principal.customer_id, str(row.id)) == 0:
                raise _LAST_ADMIN
        if changes != AgentChanges():
            row = await agent_store.update(row.id, changes, now())
        return agent_out(row)


async def delete_agent(principal: Principal, agent_id: str) -> AgentOut:
    """Soft delete: the agent can no longer sign in, and its tokens and keys stop working."""
    require_admin(principal)
    async with transaction():
        row = await _live_row(principal, agent_id)
        if row.permission == Permission.ADMIN.value:
            if await _other_admins(principal.customer_id, str(row.id)) == 0:
                raise _LAST_ADMIN
        return agent_out(await agent_store.soft_delete(row.id, now()))


async def open_counts(principal: Principal) -> dict[str, int]:
    """Each agent's open rooms (the agents page's load column). Admins only."""
    require_admin(principal)
    return await agent_store.open_counts(principal.customer_id)


async def directory(principal: Principal) -> list[Colleague]:
    """Colleagues' ids and display names (for assigning rooms); any agent may see them."""
    return await agent_store.directory(principal.customer_id)


async def names(customer_id: str, agent_ids: Iterable[UUID | str | None]) -> dict[str, str]:
    """Display names of the customer's agents among `agent_ids`: see agent_store.names."""
    return await agent_store.names(customer_id, agent_ids)


async def display_name(principal: Principal) -> str:
    """The principal's own display name (its username if it has none)."""
    return (await names(principal.customer_id, [principal.agent_id])).get(
        principal.agent_id, principal.username
    )


# --- the signed-in agent's own settings (any agent, for itself) ---------------------------


async def _own_row(principal: Principal) -> AgentRow:
    return found(await agent_store.live(principal.customer_id, principal.agent_id), *_NO_AGENT)


def _profile(row: AgentRow) -> dict[str, str]:
    """What the audit log shows of a profile change (never the password's hash)."""
    return {"name": row.name, "default_availability": row.default_availability}


async def get_me(principal: Principal) -> AgentRow:
    """The signed-in agent's own row (its profile page). Superseded by the teams work's
    get_me (the resource) when merged."""
    return await _own_row(principal)


async def update_me(principal: Principal, data: MeUpdate) -> AgentOut:
    """Change one's own name and default availability; only the fields given."""
    changes = AgentChanges(
        name=msgspec.UNSET if data.name is None else data.name.strip(),
        default_availability=(
            msgspec.UNSET
            if data.default_availability is None
            else data.default_availability.value
        ),
    )
    async with transaction():
        row = await _own_row(principal)
        if changes != AgentChanges():
            before = _profile(row)
            row = await agent_store.update(row.id, changes, now())
            if _profile(row) != before:
                await audit.record(
                    principal.customer_id,
                    principal,
                    "agent.profile_updated",
                    "agent",
                    row.id,
                    before,
                    _profile(row),
                )
        return agent_out(row)


_WRONG_PASSWORD = InvalidInput(
    "wrong_password",
    "The current password is not right.",
    fields=[{"field": "current_password", "message": "is not right"}],
)


async def change_password(principal: Principal, data: PasswordChange, *, address: str) -> None:
    """A new password for the signed-in agent, given its current one (checked and
    throttled like a sign-in). Other sessions stay signed in."""
    row = await _own_row(principal)
    if not await auth.recheck_password(
        row.username, row.password_hash, data.current_password, address
    ):
        raise _WRONG_PASSWORD
    password_hash = await hash_password(data.password)
    async with transaction():
        row = await _own_row(principal)
        await agent_store.update(row.id, AgentChanges(password_hash=password_hash), now())
        # the entry says that it changed and who changed it, never any hash
        await audit.record(
            principal.customer_id,
            principal,
            "agent.password_changed",
            "agent",
            row.id,
            {},
            {"password": "changed"},
        )
