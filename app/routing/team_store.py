"""The teams tables' SQL (`teams`, `team_members`, `team_accounts`), as typed rows.

Piccolo's query builder: teams change by an admin's hand, a few times a day. The routing
engine reads these tables on its own (app/routing/engine_store.py), on its hot path.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import ChannelAccount, Team, TeamAccount, TeamMember


class TeamRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    name: str
    detail: str
    assignment_policy: str
    max_open: int
    reassign_after: int
    business_hours_id: UUID | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class TeamChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    detail: str | msgspec.UnsetType = msgspec.UNSET
    assignment_policy: str | msgspec.UnsetType = msgspec.UNSET
    max_open: int | msgspec.UnsetType = msgspec.UNSET
    reassign_after: int | msgspec.UnsetType = msgspec.UNSET
    business_hours_id: str | None | msgspec.UnsetType = msgspec.UNSET


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """A channel account and the (other) live team it routes to."""

    account_id: str
    team_id: str
    team_name: str


async def insert(
    customer_id: str,
    *,
    name: str,
    detail: str,
    assignment_policy: str,
    max_open: int,
    reassign_after: int,
    business_hours_id: str | None = None,
) -> TeamRow:
    return await typed.inserted(
        TeamRow,
        Team(
            customer_id=customer_id,
            name=name,
            detail=detail,
            assignment_policy=assignment_policy,
            max_open=max_open,
            reassign_after=reassign_after,
            business_hours_id=business_hours_id,
        ),
    )


async def live(customer_id: str, team_id: str, *, lock: bool = False) -> TeamRow | None:
    """The customer's live team; `lock`: its row locked until the transaction ends (the
    routing engine takes the same lock before it counts a team's free slots, so an admin's
    change and a routing decision never interleave)."""
    if not lock:
        return await typed.live(Team, TeamRow, customer_id, team_id)
    return await sql.fetchrow_as(
        TeamRow,
        f"SELECT {', '.join(TeamRow.__struct_fields__)} FROM teams"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL"
        # NO KEY UPDATE, as the engine takes it (engine_store.lock_teams): it serialises
        # with routing decisions; FOR UPDATE would also wait for every room being
        # inserted in the team (the foreign key's share lock on the team row)
        " FOR NO KEY UPDATE",
        team_id,
        customer_id,
    )


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[TeamRow], str]:
    """The customer's live teams, newest first."""
    live = [Team.customer_id == customer_id, Team.tm_delete.is_null()]
    return await keyset_page_as(TeamRow, Team, live, page_size, page_token)


async def members(team_ids: list[UUID]) -> dict[str, list[str]]:
    """Each team's live members, in the order they joined."""
    return await _pairs(
        "SELECT m.team_id, m.agent_id AS item FROM team_members m"
        " JOIN agents a ON a.id = m.agent_id AND a.tm_delete IS NULL"
        " WHERE m.team_id = ANY($1::uuid[]) ORDER BY m.id",
        team_ids,
    )


async def accounts(team_ids: list[UUID]) -> dict[str, list[str]]:
    """Each team's live channel accounts, in the order they were added."""
    return await _pairs(
        "SELECT t.team_id, t.account_id AS item FROM team_accounts t"
        " JOIN channel_accounts c ON c.id = t.account_id AND c.tm_delete IS NULL"
        " WHERE t.team_id = ANY($1::uuid[]) ORDER BY t.id",
        team_ids,
    )


async def _pairs(query: str, team_ids: list[UUID]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if team_ids:
        for r in await sql.fetch(query, team_ids):
            found.setdefault(str(r["team_id"]), []).append(str(r["item"]))
    return found


async def live_accounts(customer_id: str, account_ids: list[str]) -> set[str]:
    """Which of `account_ids` are live channel accounts of the customer."""
    if not account_ids:
        return set()
    rows = await ChannelAccount.select(ChannelAccount.id).where(
        ChannelAccount.customer_id == customer_id,
        ChannelAccount.id.is_in(account_ids),
        ChannelAccount.tm_delete.is_null(),
    )
    return {str(r["id"]) for r in rows}


async def held_elsewhere(
    customer_id: str, team_id: UUID | None, account_ids: list[str]
) -> list[Holder]:
    """Of `account_ids`, those another live team of the customer receives."""
    if not account_ids:
        return []
    rows = await sql.fetch(
        "SELECT a.account_id, t.id AS team_id, t.name FROM team_accounts a"
        " JOIN teams t ON t.id = a.team_id"
        " WHERE a.customer_id = $1 AND a.account_id = ANY($2::uuid[])"
        " AND t.tm_delete IS NULL AND ($3::uuid IS NULL OR t.id <> $3::uuid)",
        customer_id,
        account_ids,
        team_id,
    )
    return [
        Holder(account_id=str(r["account_id"]), team_id=str(r["team_id"]), team_name=r["name"])
        for r in rows
    ]


async def set_members(customer_id: str, team_id: UUID, agent_ids: list[str]) -> None:
    """Make `agent_ids` the team's members (keeping the join order of those who stay)."""
    gone = TeamMember.delete().where(TeamMember.team_id == team_id)
    # (NOT IN of an empty list is no SQL; NOT IN (NULL) would keep every row)
    await (gone.where(TeamMember.agent_id.not_in(agent_ids)) if agent_ids else gone)
    await sql.execute(
        "INSERT INTO team_members (customer_id, team_id, agent_id, tm_create)"
        " SELECT $1, $2, a, now() FROM unnest($3::uuid[]) WITH ORDINALITY AS m(a, n)"
        " ORDER BY n ON CONFLICT (team_id, agent_id) DO NOTHING",
        customer_id,
        team_id,
        agent_ids,
    )


async def set_accounts(customer_id: str, team_id: UUID, account_ids: list[str]) -> None:
    """Make `account_ids` the team's accounts. asyncpg.UniqueViolationError when another
    team took one of them meanwhile (an account routes to one team: a unique index)."""
    gone = TeamAccount.delete().where(TeamAccount.team_id == team_id)
    await (gone.where(TeamAccount.account_id.not_in(account_ids)) if account_ids else gone)
    await sql.execute(
        "INSERT INTO team_accounts (customer_id, team_id, account_id, tm_create)"
        " SELECT $1, $2, a, now() FROM unnest($3::uuid[]) WITH ORDINALITY AS m(a, n)"
        " ORDER BY n ON CONFLICT (account_id) DO NOTHING",
        customer_id,
        team_id,
        account_ids,
    )


async def stray_accounts(team_id: UUID, account_ids: list[str]) -> list[str]:
    """Of `account_ids`, those that did not end up with the team (taken by another team
    between the check and the insert)."""
    if not account_ids:
        return []
    rows = await sql.fetch(
        "SELECT a FROM unnest($2::uuid[]) AS a WHERE NOT EXISTS"
        " (SELECT 1 FROM team_accounts WHERE team_id = $1 AND account_id = a)",
        team_id,
        account_ids,
    )
    return [str(r["a"]) for r in rows]


async def update(team_id: UUID, changes: TeamChanges, at: datetime) -> TeamRow:
    values = {**typed.values(Team, changes), Team.tm_update: at}
    return await typed.updated(Team, TeamRow, team_id, values)


async def touch(team_id: UUID, at: datetime) -> TeamRow:
    """A change to the team's members or accounts: its `tm_update` moves."""
    return await typed.updated(Team, TeamRow, team_id, {Team.tm_update: at})


async def soft_delete(team_id: UUID, at: datetime) -> TeamRow:
    """The team is gone: it holds no members and no accounts any more (the accounts may
    route to another team), and its rows stay for the history."""
    await TeamMember.delete().where(TeamMember.team_id == team_id)
    await TeamAccount.delete().where(TeamAccount.team_id == team_id)
    return await typed.updated(Team, TeamRow, team_id, {Team.tm_delete: at, Team.tm_update: at})


async def lock_rooms(customer_id: str, team_id: str) -> None:
    """Lock the team's live rooms (in id order) before the team itself: the routing
    engine's lock order is rooms, then teams (app/routing/engine.py), and a deletion that
    held the team while waiting for a room could deadlock with a room being routed."""
    await sql.execute(
        "SELECT 1 FROM (SELECT id FROM conversations WHERE customer_id = $1 AND team_id = $2"
        " AND tm_delete IS NULL ORDER BY id FOR NO KEY UPDATE) AS locked",
        customer_id,
        team_id,
    )


async def release_rooms(customer_id: str, team_id: UUID, reason: str) -> list[str]:
    """The deleted team's rooms leave it (their owners stay): the foreign key's ON DELETE
    SET NULL acts only on a hard delete, and teams are soft-deleted. Rooms waiting in its
    queue stop waiting and say why. Returns the rooms' ids."""
    rows = await sql.fetch(
        "UPDATE conversations SET team_id = NULL, tm_queued = NULL,"
        " assignment_reason = CASE WHEN tm_queued IS NOT NULL THEN $3 ELSE assignment_reason END,"
        " tm_update = now()"
        " WHERE customer_id = $1 AND team_id = $2 AND tm_delete IS NULL RETURNING id",
        customer_id,
        team_id,
        reason,
    )
    return [str(r["id"]) for r in rows]
