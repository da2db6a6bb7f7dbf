"""Agents: the people who sign in to the desk and the API. Admins manage them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from app.audit import log as audit
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.domain.enums import AgentStatus, Availability, EventType, Permission
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import AgentCreate, AgentOut, AgentUpdate, MeUpdate, PasswordChange
from app.domain.timefmt import fmt, now
from app.people import agent_store, auth, customer_store
from app.people.agent_store import AgentChanges, AgentRow, Colleague
from app.people.passwords import hash_password


def agent_out(row: AgentRow, team_ids: list[str] | None = None) -> AgentOut:
    return AgentOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        username=row.username,
        name=row.name,
        detail=row.detail,
        permission=row.permission,
        status=row.status,
        availability=row.availability,
        default_availability=row.default_availability,
        auto_offline=row.auto_offline,
        max_open=row.max_open,
        team_ids=team_ids or [],
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
        signature=row.signature,
    )


async def agents_out(rows: list[AgentRow]) -> list[AgentOut]:
    """The resources of `rows` (one customer's), with their teams (one query)."""
    if not rows:
        return []
    teams = await agent_store.team_ids(str(rows[0].customer_id), [r.id for r in rows])
    return [agent_out(r, teams.get(str(r.id))) for r in rows]


async def resource(row: AgentRow) -> AgentOut:
    return (await agents_out([row]))[0]


def agent_topic(customer_id: str, agent_id: str) -> str:
    return f"customer_id:{customer_id}:agent:{agent_id}"


async def record_agent_updated(out: AgentOut) -> None:
    """`agent_updated`: admins and managers see it, and the agent itself (the agents list
    is an admin's; the agent's own `GET /v1.0/me` follows it too)."""
    await record_event(
        out.customer_id,
        EventType.AGENT_UPDATED,
        out,
        [agent_topic(out.customer_id, out.id)],
        audience=[out.id],
    )


async def record_availability(row: AgentRow) -> None:
    """`agent_availability_updated` (the agent resource): every agent of the customer sees
    who is online."""
    out = await resource(row)
    await record_event(
        out.customer_id,
        EventType.AGENT_AVAILABILITY_UPDATED,
        out,
        [agent_topic(out.customer_id, out.id)],
    )


def validated_create(**fields: Any) -> AgentCreate:
    """Check fields from outside the API (the CLI) by the same rules as an API body."""
    try:
        return msgspec.convert(fields, AgentCreate)
    except msgspec.ValidationError as exc:
        raise InvalidInput("invalid_agent", f"Invalid agent: {exc}") from None


_USERNAME_TAKEN = Conflict("username_taken", "That username is already in use.")


async def insert_agent(customer_id: str, data: AgentCreate) -> AgentOut:
    """Add the agent (inside the caller's transaction): no event, no audit entry; the CLI
    and a new customer's first admin come here, an admin's request through create_agent."""
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
            max_open=data.max_open,
        )
    except asyncpg.UniqueViolationError:  # lost a race with another insert of this name
        raise _USERNAME_TAKEN from None
    return agent_out(row)


async def create_agent(principal: Principal, data: AgentCreate) -> AgentOut:
    require_admin(principal)
    async with transaction():
        out = await insert_agent(principal.customer_id, data)
        await audit.record(
            principal.customer_id, principal, "agent.created", "agent", out.id, None, out
        )
        await record_agent_updated(out)
    return out


_NO_AGENT = ("agent_not_found", "agent")


async def _live_row(principal: Principal, agent_id: str) -> AgentRow:
    agent_id = parse_id(agent_id, *_NO_AGENT)
    return found(await agent_store.live(principal.customer_id, agent_id), *_NO_AGENT)


async def get_agent(principal: Principal, agent_id: str) -> AgentOut:
    require_admin(principal)
    return await resource(await _live_row(principal, agent_id))


async def get_me(principal: Principal) -> AgentOut:
    """The signed-in agent's own resource (any agent)."""
    return await resource(await _live_row(principal, principal.agent_id))


async def list_agents(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AgentOut], str]:
    require_admin(principal)
    rows, token = await agent_store.page(principal.customer_id, page_size, page_token)
    return await agents_out(rows), token


async def _other_admins(customer_id: str, agent_id: str) -> int:
    # Lock the customer row first, so two admins demoting each other at the same moment
    # are serialized and the second one sees the first one's change.
    await customer_store.lock(customer_id)
    return await agent_store.other_admins(customer_id, agent_id)


_LAST_ADMIN = Conflict(
    "last_admin", "A customer must keep at least one admin: promote another agent first."
)


class AgentChange(msgspec.Struct, frozen=True, kw_only=True):
    """What an admin's change did: the routing layer (app/routing/availability.py) acts on
    it (a deactivated agent's rooms return to routing; an agent that may now take more
    rooms lets its teams' queues drain)."""

    before: AgentRow
    after: AgentRow

    @property
    def deactivated(self) -> bool:
        return self.before.status != self.after.status == AgentStatus.DEACTIVATED.value

    @property
    def may_take_more(self) -> bool:
        """Online and active now, and just came online, was reactivated or had its
        capacity changed: its teams' queues may have a room for it (drain() gives none
        when there is no free slot, so a lowered capacity costs only a look)."""
        b, a = self.before, self.after
        if a.availability != Availability.ONLINE.value or a.status != AgentStatus.ACTIVE.value:
            return False
        return (b.availability, b.status, b.max_open) != (a.availability, a.status, a.max_open)


async def changes_of(data: AgentUpdate) -> AgentChanges:
    """The columns `data` sets (a new password is hashed here, outside any transaction:
    hashing is slow on purpose)."""
    deactivating = data.status is AgentStatus.DEACTIVATED
    availability: str | msgspec.UnsetType = msgspec.UNSET
    if data.availability is not None:
        availability = data.availability.value
    elif deactivating:
        availability = Availability.OFFLINE.value
    return AgentChanges(
        name=msgspec.UNSET if data.name is None else data.name,
        detail=msgspec.UNSET if data.detail is None else data.detail,
        permission=msgspec.UNSET if data.permission is None else data.permission.value,
        status=msgspec.UNSET if data.status is None else data.status.value,
        availability=availability,
        auto_offline=msgspec.UNSET if availability is msgspec.UNSET else False,
        max_open=data.max_open,
        password_hash=(
            msgspec.UNSET if data.password is None else await hash_password(data.password)
        ),
    )


_DEACTIVATED = Conflict(
    "agent_deactivated", "The agent is deactivated: reactivate it first (status active)."
)


async def change_agent(
    principal: Principal, agent_id: str, data: AgentUpdate, changes: AgentChanges
) -> AgentChange:
    """An admin's change to an agent, inside the caller's transaction: the row, its audit
    entries and its events (`agent_updated`, `agent_availability_updated`)."""
    require_admin(principal)
    row = await _live_row(principal, agent_id)
    row = found(await agent_store.locked(principal.customer_id, str(row.id)), *_NO_AGENT)
    status = row.status if data.status is None else data.status.value
    if status == AgentStatus.DEACTIVATED.value and data.availability not in (
        None,
        Availability.OFFLINE,
    ):
        raise _DEACTIVATED
    demoting = data.permission not in (None, Permission.ADMIN)
    deactivating = data.status is AgentStatus.DEACTIVATED and row.status != status
    if (demoting or deactivating) and row.permission == Permission.ADMIN.value:
        if await _other_admins(principal.customer_id, str(row.id)) == 0:
            raise _LAST_ADMIN
    after = row
    if changes != AgentChanges():
        after = await agent_store.update(row.id, changes, now())
    before_out, after_out = await agents_out([row, after]) if after is not row else (None, None)
    cid = principal.customer_id
    if before_out is not None and after_out is not None:
        shown_before = _without_availability(before_out)
        shown_after = _without_availability(after_out)
        if row.status != after.status:
            verb = "deactivated" if status == AgentStatus.DEACTIVATED.value else "reactivated"
            await audit.record(
                cid, principal, f"agent.{verb}", "agent", row.id, before_out, after_out
            )
        elif shown_before != shown_after or row.availability != after.availability:
            await audit.record(
                cid, principal, "agent.updated", "agent", row.id, before_out, after_out
            )
        if data.password is not None:
            await audit.record(cid, principal, "agent.password_reset", "agent", row.id)
        if shown_before != shown_after:
            await record_agent_updated(after_out)
        if (row.availability, row.auto_offline) != (after.availability, after.auto_offline):
            await record_availability(after)
    return AgentChange(before=row, after=after)


def _without_availability(out: AgentOut) -> AgentOut:
    """What `agent_updated` is about: everything but availability (which has its own
    event) and the update time."""
    return msgspec.structs.replace(out, availability="", auto_offline=False, tm_update="")


async def remove_agent(principal: Principal, agent_id: str) -> AgentRow:
    """Soft delete, inside the caller's transaction: the agent can no longer sign in, its
    tokens and keys stop working; leaves its teams. (`DELETE /v1.0/agents/{id}` comes
    through app/routing/availability.delete_agent, which also returns its rooms to
    routing; likewise every admin change, change_agent.)"""
    require_admin(principal)
    row = await _live_row(principal, agent_id)
    if row.permission == Permission.ADMIN.value and row.status == AgentStatus.ACTIVE.value:
        if await _other_admins(principal.customer_id, str(row.id)) == 0:
            raise _LAST_ADMIN
    before = await resource(row)
    gone = await agent_store.soft_delete(row.id, now())
    await agent_store.leave_teams(str(row.id))
    out = agent_out(gone)
    await audit.record(principal.customer_id, principal, "agent.deleted", "agent", row.id, before)
    await record_agent_updated(out)
    return gone


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
    return {
        "name": row.name,
        "default_availability": row.default_availability,
        "signature": row.signature,
    }


def _signature(text: str) -> str:
    """A signature as stored: line endings made plain, no blank lines around it."""
    return text.replace("\r\n", "\n").strip()


async def update_me(principal: Principal, data: MeUpdate) -> AgentOut:
    """Change one's own name, default availability and signature; only the fields given."""
    changes = AgentChanges(
        name=msgspec.UNSET if data.name is None else data.name.strip(),
        default_availability=(
            msgspec.UNSET if data.default_availability is None else data.default_availability.value
        ),
        signature=msgspec.UNSET if data.signature is None else _signature(data.signature),
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
                await record_agent_updated(await resource(row))
        return await resource(row)


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
