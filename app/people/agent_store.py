"""The agents table's SQL, as typed rows.

Piccolo's query builder, except for the lookups a request or a live event repeats: the
agent behind every API request (authentication), and the names and the directory a
desk fan-out renders. There plain SQL (app/db/sql.py) takes about half the time
(bench/data_access.py; docs/ARCHITECTURE.md, "Raw SQL, and why").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec
from piccolo.query.functions.aggregate import Count

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import Agent, Conversation, TeamMember
from app.domain.enums import Permission


class AgentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    username: str
    name: str
    detail: str
    password_hash: str
    permission: str
    status: str
    availability: str
    default_availability: str
    auto_offline: bool
    max_open: int | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None
    signature: str = ""


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    """What a request's credential stands for: a live agent."""

    id: UUID
    customer_id: UUID
    username: str
    permission: str


class Colleague(msgspec.Struct, frozen=True, kw_only=True):
    """An entry of the agents' directory (the assign and add-participant menus)."""

    id: str
    name: str
    """The agent's name, or its username when it has none."""
    permission: str
    availability: str = "offline"
    """online, away or offline (the assign menu shows it)."""


class AgentChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    detail: str | msgspec.UnsetType = msgspec.UNSET
    permission: str | msgspec.UnsetType = msgspec.UNSET
    status: str | msgspec.UnsetType = msgspec.UNSET
    availability: str | msgspec.UnsetType = msgspec.UNSET
    auto_offline: bool | msgspec.UnsetType = msgspec.UNSET
    default_availability: str | msgspec.UnsetType = msgspec.UNSET
    max_open: int | None | msgspec.UnsetType = msgspec.UNSET
    password_hash: str | msgspec.UnsetType = msgspec.UNSET
    signature: str | msgspec.UnsetType = msgspec.UNSET


# --- plain SQL: every request, every live event ---------------------------------------------

_ROW_COLUMNS = ", ".join(AgentRow.__struct_fields__)


async def signed_in(agent_id: str, customer_id: str) -> SignedIn | None:
    """The live, active agent `agent_id` of the customer (a token's or an access key's): a
    deactivated agent's credentials stop working with its next request."""
    return await sql.fetchrow_as(
        SignedIn,
        "SELECT id, customer_id, username, permission FROM agents"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL"
        " AND status = 'active'",
        agent_id,
        customer_id,
    )


def shown(name: str, username: str) -> str:
    """How the desk names an agent: its name, else its username."""
    return name or username


async def names(customer_id: str, agent_ids: Iterable[UUID | str | None]) -> dict[str, str]:
    """Display names by agent id, for those of `agent_ids` that are agents of the customer
    (deleted ones too: the history they made still names them). Anything else — None, a
    malformed id, another customer's agent — is left out, so a stored id can never show a
    name from another customer."""
    ids = set()
    for agent_id in agent_ids:
        try:
            ids.add(str(UUID(str(agent_id))))
        except ValueError:
            continue
    if not ids:
        return {}
    rows = await sql.fetch(
        "SELECT id, name, username FROM agents WHERE customer_id = $1 AND id = ANY($2::uuid[])",
        customer_id,
        sorted(ids),
    )
    return {str(r["id"]): shown(r["name"], r["username"]) for r in rows}


async def team_ids(customer_id: str, agent_ids: list[UUID]) -> dict[str, list[str]]:
    """The live teams each of `agent_ids` is a member of (AgentOut.team_ids), oldest team
    first. Plain SQL: the desk's agents page and every agent event ask it."""
    if not agent_ids:
        return {}
    rows = await sql.fetch(
        "SELECT m.agent_id, m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id"
        " WHERE m.customer_id = $1 AND m.agent_id = ANY($2::uuid[]) AND t.tm_delete IS NULL"
        " ORDER BY t.tm_create, t.id",
        customer_id,
        agent_ids,
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(str(r["agent_id"]), []).append(str(r["team_id"]))
    return found


async def directory(customer_id: str) -> list[Colleague]:
    """The customer's live agents by name."""
    rows = await sql.fetch(
        "SELECT id, name, username, permission, availability FROM agents"
        " WHERE customer_id = $1 AND tm_delete IS NULL ORDER BY name",
        customer_id,
    )
    return [
        Colleague(
            id=str(r["id"]),
            name=shown(r["name"], r["username"]),
            permission=r["permission"],
            availability=r["availability"],
        )
        for r in rows
    ]


# --- the query builder -------------------------------------------------------------------------


async def live_ids(customer_id: str, agent_ids: list[str]) -> set[str]:
    """Which of `agent_ids` are live agents of the customer."""
    if not agent_ids:
        return set()
    rows = await Agent.select(Agent.id).where(
        Agent.customer_id == customer_id,
        Agent.id.is_in(agent_ids),
        Agent.tm_delete.is_null(),
    )
    return {str(r["id"]) for r in rows}


async def username_taken(username: str) -> bool:
    """Usernames are unique among live agents, across customers."""
    return await Agent.exists().where(Agent.username == username, Agent.tm_delete.is_null())


async def insert(
    customer_id: str,
    *,
    username: str,
    name: str,
    detail: str,
    password_hash: str,
    permission: Permission,
    max_open: int | None = None,
) -> AgentRow:
    """asyncpg.UniqueViolationError when a live agent has the username."""
    return await typed.inserted(
        AgentRow,
        Agent(
            customer_id=customer_id,
            username=username,
            name=name,
            detail=detail,
            password_hash=password_hash,
            permission=permission.value,
            max_open=max_open,
        ),
    )


async def live(customer_id: str, agent_id: str) -> AgentRow | None:
    return await typed.live(Agent, AgentRow, customer_id, agent_id)


async def by_username(username: str) -> AgentRow | None:
    """The live agent who signs in with `username` (stored lowercase)."""
    row = await Agent.select().where(Agent.username == username, Agent.tm_delete.is_null()).first()
    return None if row is None else typed.as_row(AgentRow, row)


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[AgentRow], str]:
    """The customer's live agents, newest first."""
    live = [Agent.customer_id == customer_id, Agent.tm_delete.is_null()]
    return await keyset_page_as(AgentRow, Agent, live, page_size, page_token)


async def other_admins(customer_id: str, agent_id: str) -> int:
    """The customer's live, active admins besides `agent_id` (a deactivated admin cannot
    sign in, so it does not count)."""
    return await Agent.count().where(
        Agent.customer_id == customer_id,
        Agent.permission == Permission.ADMIN.value,
        Agent.status == "active",
        Agent.tm_delete.is_null(),
        Agent.id != agent_id,
    )


async def update(agent_id: UUID, changes: AgentChanges, at: datetime) -> AgentRow:
    values = {**typed.values(Agent, changes), Agent.tm_update: at}
    return await typed.updated(Agent, AgentRow, agent_id, values)


async def locked(customer_id: str, agent_id: str) -> AgentRow | None:
    """The customer's live agent `agent_id`, its row locked until the transaction ends
    (availability changes from the agent, an admin and the auto-offline timer serialize
    on it)."""
    return await sql.fetchrow_as(
        AgentRow,
        f"SELECT {_ROW_COLUMNS} FROM agents WHERE id = $1::uuid AND customer_id = $2::uuid"
        " AND tm_delete IS NULL FOR UPDATE",
        agent_id,
        customer_id,
    )


async def soft_delete(agent_id: UUID, at: datetime) -> AgentRow:
    return await typed.updated(
        Agent, AgentRow, agent_id, {Agent.tm_delete: at, Agent.tm_update: at}
    )


async def leave_teams(agent_id: str) -> None:
    """A deleted agent is no team's member any more."""
    await TeamMember.delete().where(TeamMember.agent_id == agent_id)


async def customer_of(username: str) -> str | None:
    """The customer of the live agent with this username."""
    row = (
        await Agent.select(Agent.customer_id)
        .where(Agent.username == username, Agent.tm_delete.is_null())
        .first()
    )
    return str(row["customer_id"]) if row else None


async def open_counts(customer_id: str) -> dict[str, int]:
    """Each agent's open (not closed) rooms: the load the agents page shows against
    capacity (index conversations_open_owner)."""
    rows = (
        await Conversation.select(Conversation.owner_id, Count(alias="open"))
        .where(
            Conversation.customer_id == customer_id,
            Conversation.owner_id.is_not_null(),
            Conversation.status != "closed",
            Conversation.tm_delete.is_null(),
        )
        .group_by(Conversation.owner_id)
    )
    return {str(r["owner_id"]): int(r["open"]) for r in rows}


# --- availability and desk liveness (plain SQL: every desk connection and heartbeat) ---------


async def mark_seen(agent_ids: list[str], at: datetime) -> None:
    """A sign of life from desk connections (connect, heartbeat, disconnect): one cheap
    UPDATE for every agent a process has a desk open for. `tm_update` is not touched:
    nothing an API client sees changes."""
    if agent_ids:
        await sql.execute(
            "UPDATE agents SET tm_seen = $2 WHERE id = ANY($1::uuid[]) AND tm_delete IS NULL",
            agent_ids,
            at,
        )


async def went_stale(cutoff: datetime, at: datetime, limit: int = 500) -> list[AgentRow]:
    """Agents who had a desk open (tm_seen set) but gave no sign of life since `cutoff`,
    and are not offline yet: each becomes offline; `auto_offline` remembers that one who
    was online should come back online when it returns. An agent who never opened the
    desk (tm_seen null: an API-only agent) is left alone. SKIP LOCKED: rows a request is
    changing right now are looked at next round."""
    return await sql.fetch_as(
        AgentRow,
        "UPDATE agents a SET availability = 'offline',"
        " auto_offline = (a.availability = 'online'), tm_update = $2"
        " WHERE a.id IN (SELECT id FROM agents WHERE availability <> 'offline'"
        "   AND tm_seen < $1 AND tm_delete IS NULL AND status = 'active'"
        "   ORDER BY tm_seen LIMIT $3 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {', '.join('a.' + c for c in AgentRow.__struct_fields__)}",
        cutoff,
        at,
        limit,
    )
