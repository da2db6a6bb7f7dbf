"""The routing engine's SQL: teams and their members as routing sees them, the team queue,
and the room changes routing makes. Plain SQL (app/db/sql.py): every inbound message of a
team's channel goes through here (docs/ARCHITECTURE.md, "Raw SQL, and why").

Every function runs in the caller's service transaction (core.events.transaction()).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import msgspec

from app.conversations.store import QUEUE_RANK, RoomRow, waiting
from app.db import sql

Id = uuid.UUID | str

_ROOM_COLUMNS = ", ".join(RoomRow.__struct_fields__)
_C_ROOM_COLUMNS = ", ".join(f"c.{f}" for f in RoomRow.__struct_fields__)

# Namespace for pg_advisory_xact_lock(int, int): the first int says "an agent's capacity".
_AGENT_LOCK_CLASS = 0x0C0DE6


class TeamRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    assignment_policy: str
    max_open: int
    reassign_after: int
    rr_last_agent_id: uuid.UUID | None


class MemberRow(msgspec.Struct, frozen=True, kw_only=True):
    """A member of a team as routing weighs it."""

    agent_id: uuid.UUID
    name: str
    """The display name (the username when the agent has no name)."""
    status: str
    availability: str
    capacity: int
    """coalesce(agents.max_open, teams.max_open)."""
    open: int
    """Rooms the agent holds that are not closed (in any team)."""


_TEAM_COLUMNS = (
    "id, customer_id, name, assignment_policy, max_open, reassign_after, rr_last_agent_id"
)


async def lock_teams(customer_id: Id, team_ids: Iterable[Id]) -> list[TeamRow]:
    """Lock the customer's live teams among `team_ids` (FOR UPDATE, in id order), then
    every member's capacity lock (in key order): routing decisions in a team are serial,
    and an agent who is in two teams is never given rooms by both at once.

    Lock order (see engine.py): rooms, then teams by id, then agents' capacity locks by
    key; a transaction takes all its teams in one call."""
    wanted = sorted({str(t) for t in team_ids if t is not None})
    if not wanted:
        return []
    records = await sql.fetch(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE customer_id = $1 AND id = ANY($2::uuid[])"
        " AND tm_delete IS NULL ORDER BY id FOR UPDATE",
        customer_id,
        wanted,
    )
    teams = [TeamRow(**r) for r in records]
    if teams:
        await sql.fetch(
            "SELECT pg_advisory_xact_lock($1, k) FROM (SELECT DISTINCT hashtext(agent_id::text)"
            " AS k FROM team_members WHERE team_id = ANY($2::uuid[]) ORDER BY k) AS keys",
            _AGENT_LOCK_CLASS,
            [str(t.id) for t in teams],
        )
    return teams


async def team(customer_id: Id, team_id: Id) -> TeamRow | None:
    """A live team of the customer, unlocked."""
    record = await sql.fetchrow(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE id = $1 AND customer_id = $2"
        " AND tm_delete IS NULL",
        team_id,
        customer_id,
    )
    return TeamRow(**record) if record is not None else None


async def team_of_account(customer_id: Id, account_id: Id) -> TeamRow | None:
    """The live team a channel account routes its new rooms to, if any."""
    record = await sql.fetchrow(
        f"SELECT {', '.join('t.' + c for c in _TEAM_COLUMNS.split(', '))}"
        " FROM team_accounts a JOIN teams t ON t.id = a.team_id"
        " WHERE a.account_id = $1 AND a.customer_id = $2 AND t.tm_delete IS NULL",
        account_id,
        customer_id,
    )
    return TeamRow(**record) if record is not None else None


async def members(team: TeamRow) -> list[MemberRow]:
    """The team's live members in agent id order (the round robin's order), with their
    capacity and open rooms. The count uses conversations_open_owner."""
    return await sql.fetch_as(
        MemberRow,
        "SELECT a.id AS agent_id, coalesce(nullif(a.name, ''), a.username) AS name, a.status,"
        " a.availability, coalesce(a.max_open, $2) AS capacity,"
        " (SELECT count(*) FROM conversations c WHERE c.owner_id = a.id"
        "   AND c.status <> 'closed' AND c.tm_delete IS NULL)::int AS open"
        " FROM team_members m JOIN agents a ON a.id = m.agent_id"
        " WHERE m.team_id = $1 AND a.tm_delete IS NULL ORDER BY a.id",
        team.id,
        team.max_open,
    )


async def teams_of_agent(customer_id: Id, agent_id: Id) -> list[str]:
    records = await sql.fetch(
        "SELECT m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id"
        " WHERE m.agent_id = $1 AND m.customer_id = $2 AND t.tm_delete IS NULL"
        " ORDER BY m.team_id",
        agent_id,
        customer_id,
    )
    return [str(r["team_id"]) for r in records]


async def agent_name(customer_id: Id, agent_id: Id) -> str:
    return (
        await sql.fetchval(
            "SELECT coalesce(nullif(name, ''), username) FROM agents WHERE id = $1"
            " AND customer_id = $2",
            agent_id,
            customer_id,
        )
        or "an agent"
    )


async def set_round_robin(team_id: Id, agent_id: Id) -> None:
    await sql.execute("UPDATE teams SET rr_last_agent_id = $2 WHERE id = $1", team_id, agent_id)


# --- rooms ------------------------------------------------------------------------------


async def lock_room(customer_id: Id, room_id: Id) -> RoomRow | None:
    """A live room of the customer, locked (rooms are locked before teams)."""
    return await sql.fetchrow_as(
        RoomRow,
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE id = $1 AND customer_id = $2"
        " AND tm_delete IS NULL FOR UPDATE",
        room_id,
        customer_id,
    )


async def assign(room_id: Id, agent_id: Id, reason: str, at: datetime) -> RoomRow:
    """Routing gives the room to `agent_id`: out of the queue, waiting for its reply."""
    return await sql.returned(
        RoomRow,
        "UPDATE conversations SET owner_id = $2, owner_type = 'agent', assignment_reason = $3,"
        " tm_assigned = $4, tm_awaiting_reply = $4, tm_queued = NULL, tm_update = $4"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        agent_id,
        reason,
        at,
    )


async def enqueue(room_id: Id, at: datetime) -> RoomRow:
    """The room waits (unassigned) in its team's queue; a room already waiting keeps its
    place (tm_queued is kept)."""
    return await sql.returned(
        RoomRow,
        "UPDATE conversations SET owner_id = NULL, owner_type = '',"
        " tm_queued = coalesce(tm_queued, $2), tm_awaiting_reply = NULL, tm_update = $2"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        at,
    )


async def unassign(room_id: Id, reason: str, at: datetime) -> RoomRow:
    """The room leaves its assignee (a reassignment, a deactivated agent)."""
    return await sql.returned(
        RoomRow,
        "UPDATE conversations SET owner_id = NULL, owner_type = '', assignment_reason = $2,"
        " tm_assigned = NULL, tm_awaiting_reply = NULL, tm_update = $3"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        reason,
        at,
    )


async def set_reason(room_id: Id, reason: str) -> RoomRow:
    return await sql.returned(
        RoomRow,
        f"UPDATE conversations SET assignment_reason = $2 WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        reason,
    )


async def queue_heads(team_id: Id, limit: int) -> list[RoomRow]:
    """The first `limit` waiting rooms of the team in serving order (priority, then
    waiting time; the index conversations_queue_order), locked. SKIP LOCKED: a room another
    transaction holds is left for that transaction (which routes it itself, or for the
    next drain): while holding a team lock, routing never waits for a room lock (engine.py,
    lock order)."""
    return await sql.fetch_as(
        RoomRow,
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE team_id = $1"
        " AND tm_queued IS NOT NULL AND tm_delete IS NULL AND status <> 'closed'"
        " AND owner_id IS NULL"
        f" ORDER BY team_id, {QUEUE_RANK.format(col='priority')}, tm_queued, id LIMIT $2"
        " FOR UPDATE SKIP LOCKED",
        team_id,
        limit,
    )


async def teams_with_queue() -> list[tuple[str, str]]:
    """(customer id, team id) of every live team with a waiting room, for the timer's
    safety drain."""
    records = await sql.fetch(
        "SELECT t.customer_id, t.id FROM teams t WHERE t.tm_delete IS NULL"
        " AND t.assignment_policy <> 'manual' AND EXISTS (SELECT 1 FROM conversations c"
        f" WHERE c.team_id = t.id AND {waiting('c')})"
    )
    return [(str(r["customer_id"]), str(r["id"])) for r in records]


async def open_rooms_of(customer_id: Id, agent_id: Id) -> list[RoomRow]:
    """The agent's open rooms, locked in id order."""
    return await sql.fetch_as(
        RoomRow,
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE customer_id = $1 AND owner_id = $2"
        " AND status <> 'closed' AND tm_delete IS NULL ORDER BY id FOR UPDATE",
        customer_id,
        agent_id,
    )


class Overdue(msgspec.Struct, frozen=True, kw_only=True):
    room: RoomRow
    reassign_after: int


_OVERDUE = (
    " FROM teams t JOIN conversations c ON c.team_id = t.id"
    " WHERE t.reassign_after > 0 AND t.tm_delete IS NULL"
    " AND c.tm_awaiting_reply IS NOT NULL AND c.tm_delete IS NULL"
    " AND c.tm_awaiting_reply <= $1 - make_interval(secs => t.reassign_after)"
    " AND c.owner_id IS NOT NULL AND c.status <> 'closed'"
)
"""Rooms routing assigned whose assignee has not replied within their team's
`reassign_after`: one range scan per team with a timer (conversations_awaiting_reply)."""


async def overdue(at: datetime, limit: int) -> list[tuple[str, str]]:
    """(customer id, room id) of up to `limit` overdue rooms, longest waiting first."""
    records = await sql.fetch(
        f"SELECT c.customer_id, c.id{_OVERDUE} ORDER BY c.tm_awaiting_reply LIMIT $2", at, limit
    )
    return [(str(r["customer_id"]), str(r["id"])) for r in records]


async def lock_overdue_room(customer_id: Id, room_id: Id, at: datetime) -> Overdue | None:
    """The room, locked, if it is still overdue. SKIP LOCKED: several timers share the work,
    and a room busy right now (its reply being sent) is looked at next round."""
    record = await sql.fetchrow(
        f"SELECT {_C_ROOM_COLUMNS}, t.reassign_after AS t_reassign_after{_OVERDUE}"
        " AND c.id = $2 AND c.customer_id = $3 FOR UPDATE OF c SKIP LOCKED",
        at,
        room_id,
        customer_id,
    )
    if record is None:
        return None
    return Overdue(
        room=RoomRow(**{f: record[f] for f in RoomRow.__struct_fields__}),
        reassign_after=record["t_reassign_after"],
    )
