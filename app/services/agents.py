"""Agents: the people who sign in to the desk and the API. Admins manage them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg
import msgspec

from app.db.tables import Agent
from app.domain.enums import Permission
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import AgentCreate, AgentOut, AgentUpdate
from app.domain.timefmt import fmt, now
from app.services.events import transaction
from app.services.ids import live_row
from app.services.pagination import keyset_page
from app.services.passwords import hash_password


def agent_out(row: dict[str, Any]) -> AgentOut:
    return AgentOut(
        id=str(row["id"]),
        customer_id=str(row["customer_id"]),
        username=row["username"],
        name=row["name"],
        detail=row["detail"],
        permission=row["permission"],
        status=row["status"],
        tm_create=fmt(row["tm_create"]),
        tm_update=fmt(row["tm_update"]),
        tm_delete=fmt(row["tm_delete"]),
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
    taken = await Agent.exists().where(Agent.username == username, Agent.tm_delete.is_null())
    if taken:
        raise _USERNAME_TAKEN
    password_hash = await hash_password(data.password)
    try:
        rows = await Agent.insert(
            Agent(
                customer_id=customer_id,
                username=username,
                name=data.name,
                detail=data.detail,
                password_hash=password_hash,
                permission=data.permission.value,
            )
        ).returning(*Agent.all_columns())
    except asyncpg.UniqueViolationError:  # lost a race with another insert of this name
        raise _USERNAME_TAKEN from None
    return agent_out(rows[0])


async def create_agent(principal: Principal, data: AgentCreate) -> AgentOut:
    require_admin(principal)
    async with transaction():
        return await insert_agent(principal.customer_id, data)


async def _live_row(principal: Principal, agent_id: str) -> dict[str, Any]:
    return await live_row(Agent, agent_id, principal.customer_id, "agent_not_found", "agent")


async def get_agent(principal: Principal, agent_id: str) -> AgentOut:
    require_admin(principal)
    return agent_out(await _live_row(principal, agent_id))


async def list_agents(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AgentOut], str]:
    require_admin(principal)
    rows, token = await keyset_page(
        Agent,
        [Agent.customer_id == principal.customer_id, Agent.tm_delete.is_null()],
        page_size,
        page_token,
    )
    return [agent_out(r) for r in rows], token


async def _other_admins(customer_id: str, agent_id: str) -> int:
    # Lock the customer row first, so two admins demoting each other at the same moment
    # are serialized and the second one sees the first one's change.
    await Agent.raw("SELECT 1 FROM customers WHERE id = {} FOR UPDATE", customer_id)
    return await Agent.count().where(
        Agent.customer_id == customer_id,
        Agent.permission == Permission.ADMIN.value,
        Agent.tm_delete.is_null(),
        Agent.id != agent_id,
    )


_LAST_ADMIN = Conflict(
    "last_admin", "A customer must keep at least one admin: promote another agent first."
)


async def update_agent(principal: Principal, agent_id: str, data: AgentUpdate) -> AgentOut:
    require_admin(principal)
    changes: dict[Any, Any] = {}
    for field in ("name", "detail"):
        value = getattr(data, field)
        if value is not None:
            changes[Agent._meta.get_column_by_name(field)] = value
    if data.permission is not None:
        changes[Agent.permission] = data.permission.value
    if data.status is not None:
        changes[Agent.status] = data.status.value
    if data.password is not None:
        changes[Agent.password_hash] = await hash_password(data.password)
    async with transaction():
        row = await _live_row(principal, agent_id)
        demoting = data.permission not in (None, Permission.ADMIN)
        if demoting and row["permission"] == Permission.ADMIN.value:
            if await _other_admins(principal.customer_id, str(row["id"])) == 0:
                raise _LAST_ADMIN
        if changes:
            changes[Agent.tm_update] = now()
            row = (
                await Agent.update(changes)
                .where(Agent.id == row["id"])
                .returning(*Agent.all_columns())
            )[0]
        return agent_out(row)


async def delete_agent(principal: Principal, agent_id: str) -> AgentOut:
    """Soft delete: the agent can no longer sign in, and its tokens and keys stop working."""
    require_admin(principal)
    async with transaction():
        row = await _live_row(principal, agent_id)
        if row["permission"] == Permission.ADMIN.value:
            if await _other_admins(principal.customer_id, str(row["id"])) == 0:
                raise _LAST_ADMIN
        stamp = now()
        row = (
            await Agent.update({Agent.tm_delete: stamp, Agent.tm_update: stamp})
            .where(Agent.id == row["id"])
            .returning(*Agent.all_columns())
        )[0]
        return agent_out(row)


def _shown(row: dict[str, Any]) -> str:
    """How the desk names an agent: its name, else its username."""
    return row["name"] or row["username"]


async def directory(principal: Principal) -> list[dict[str, str]]:
    """Colleagues' ids and display names (for assigning rooms); any agent may see them."""
    rows = await (
        Agent.select(Agent.id, Agent.name, Agent.username, Agent.permission)
        .where(Agent.customer_id == principal.customer_id, Agent.tm_delete.is_null())
        .order_by(Agent.name)
    )
    return [{"id": str(r["id"]), "name": _shown(r), "permission": r["permission"]} for r in rows]


async def names(customer_id: Any, agent_ids: Iterable[Any]) -> dict[str, str]:
    """{agent id: display name} for those of `agent_ids` that are agents of `customer_id`
    (deleted ones too: the history they made still names them). Anything else — None, a
    malformed id, another customer's agent — is left out, so a stored id can never show a
    name from another customer."""
    ids = set()
    for agent_id in agent_ids:
        try:
            ids.add(uuid.UUID(str(agent_id)))
        except ValueError:
            continue
    if not ids:
        return {}
    rows = await Agent.select(Agent.id, Agent.name, Agent.username).where(
        Agent.customer_id == customer_id, Agent.id.is_in(list(ids))
    )
    return {str(r["id"]): _shown(r) for r in rows}


async def display_name(principal: Principal) -> str:
    """The principal's own display name (its username if it has none)."""
    return (await names(principal.customer_id, [principal.agent_id])).get(
        principal.agent_id, principal.username
    )
