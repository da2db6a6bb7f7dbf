"""The routing engine's SQL: teams and their members as routing sees them, the team queue,
and the room changes routing makes. Plain SQL (app/db/sql.py): every inbound message of a
team's channel goes through here (docs/ARCHITECTURE.md, "Raw SQL, and why").

Every function runs in the caller's service transaction (core.events.transaction()).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from app.conversations.store import QUEUE_RANK, ActivityRow, RoomRow, waiting
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
    """Rooms the agent holds that are not closed (in any team); 0 for those who may not
    get a room (not active, or not online), whose count is never used."""


_TEAM_COLUMNS = (
    "id, customer_id, name, assignment_policy, max_open, reassign_after, rr_last_agent_id"
)


async def lock_teams(customer_id: Id, team_ids: Iterable[Id]) -> list[TeamRow]:
    """Lock the customer's live teams among `team_ids` (in id order), then
    every member's capacity lock (in key order): routing decisions in a team are serial,
    and an agent who is in two teams is never given rooms by both at once.

    Lock order (see engine.py): rooms, then teams by id, then agents' capacity locks by
    key; a transaction takes all its teams in one call.

    FOR NO KEY UPDATE, not FOR UPDATE: a transaction that just inserted a room of the
    team holds the FOR KEY SHARE lock of the foreign key on the team row; FOR UPDATE
    conflicts with it, so two such transactions would each wait for the other (a
    deadlock), while NO KEY UPDATE serialises the decisions and leaves key shares alone."""
    wanted = sorted({str(t) for t in team_ids if t is not None})
    if not wanted:
        return []
    if len(wanted) == 1:
        # one round trip for the one team of an arriving room: the outer query takes the
        # capacity locks after the CTE has locked the team row (a locking CTE is
        # evaluated first and not inlined), so the order is the same
        records = await sql.fetch(
            f"WITH t AS (SELECT {_TEAM_COLUMNS} FROM teams WHERE customer_id = $1"
            " AND id = $2::uuid AND tm_delete IS NULL FOR NO KEY UPDATE)"
            f" SELECT {_TEAM_COLUMNS}, (SELECT count(pg_advisory_xact_lock($3, k)) FROM"
            " (SELECT DISTINCT hashtext(agent_id::text) AS k FROM team_members"
            "  WHERE team_id = t.id ORDER BY k) AS keys) AS locked FROM t",
            customer_id,
            wanted[0],
            _AGENT_LOCK_CLASS,
        )
        return [TeamRow(**{f: r[f] for f in TeamRow.__struct_fields__}) for r in records]
    records = await sql.fetch(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE customer_id = $1 AND id = ANY($2::uuid[])"
        " AND tm_delete IS NULL ORDER BY id FOR NO KEY UPDATE",
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
        # only those who may get a room are counted: the others' counts are never used
        " CASE WHEN a.status = 'active' AND a.availability = 'online' THEN"
        " (SELECT count(*) FROM conversations c WHERE c.owner_id = a.id"
        "   AND c.status <> 'closed' AND c.tm_delete IS NULL) ELSE 0 END::int AS open"
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


# --- rooms ------------------------------------------------------------------------------


async def lock_room(customer_id: Id, room_id: Id) -> RoomRow | None:
    """A live room of the customer, locked (rooms are locked before teams)."""
    return await sql.fetchrow_as(
        RoomRow,
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE id = $1 AND customer_id = $2"
        " AND tm_delete IS NULL FOR NO KEY UPDATE",
        room_id,
        customer_id,
    )


async def assign(room_id: Id, agent_id: Id, reason: str, at: datetime, team_id: Id) -> RoomRow:
    """Routing gives the room to `agent_id`: out of the queue, waiting for its reply; the
    team's round-robin turn moves to the agent in the same statement."""
    return await sql.returned(
        RoomRow,
        "WITH turn AS (UPDATE teams SET rr_last_agent_id = $2 WHERE id = $5)"
        " UPDATE conversations SET owner_id = $2, owner_type = 'agent', assignment_reason = $3,"
        " tm_assigned = $4, tm_awaiting_reply = $4, tm_queued = NULL, reassigned_from = NULL,"
        f" tm_update = $4 WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        agent_id,
        reason,
        at,
        team_id,
    )


async def line_and_audit(
    room: RoomRow,
    line: str,
    at: datetime,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> ActivityRow:
    """A decision's system line in the room's timeline and its audit entry (actor
    `system`: the row audit.log.record writes), in one round trip: the inbound path pays
    for every statement. Returns the line for its event (activities.announce)."""
    return await sql.returned(
        ActivityRow,
        "WITH entry AS (INSERT INTO audit_log (customer_id, actor_type, actor_id, action,"
        " target_type, target_id, before, after, tm_create) VALUES ($2, 'system', NULL, $6,"
        " 'conversation', $9, $7::jsonb, $8::jsonb, $5))"
        " INSERT INTO conversation_activities (id, customer_id, conversation_id, kind, agent_id,"
        " text, tm_create) VALUES ($1, $2, $3, 'system', NULL, $4, $5)"
        f" RETURNING {', '.join(ActivityRow.__struct_fields__)}",
        uuid.uuid4(),
        room.customer_id,
        room.id,
        line,
        at,
        action,
        msgspec.json.encode(before).decode(),
        msgspec.json.encode(after).decode(),
        str(room.id),
    )


class Queued(msgspec.Struct, frozen=True, kw_only=True):
    room: RoomRow
    position: int


async def enqueue(room_id: Id, at: datetime, why: str, *, say_position: bool) -> Queued:
    """The room waits (unassigned) in its team's queue; a room already waiting keeps its
    place (tm_queued is kept). Its reason is `why`, with ", position N" when
    `say_position`. One statement: the position is counted from the room's old values
    (an UPDATE's expressions see the row as it was)."""
    rank = QUEUE_RANK.format(col="q.priority")
    own_rank = QUEUE_RANK.format(col="c.priority")
    record = await sql.fetchrow(
        "WITH place AS (SELECT 1 + count(*) AS position FROM conversations c, conversations q"
        f" WHERE c.id = $1 AND q.team_id = c.team_id AND {waiting('q')} AND q.id <> c.id"
        f" AND ({rank}, q.tm_queued, q.id)"
        f" < ({own_rank}, coalesce(c.tm_queued, $2::timestamptz), c.id))"
        " UPDATE conversations SET owner_id = NULL, owner_type = '',"
        " tm_queued = coalesce(tm_queued, $2), tm_awaiting_reply = NULL, tm_update = $2,"
        " assignment_reason = $3 || CASE WHEN $4 THEN ', position ' || place.position ELSE '' END"
        f" FROM place WHERE id = $1 RETURNING place.position AS q_position,"
        f" {', '.join('conversations.' + f for f in RoomRow.__struct_fields__)}",
        room_id,
        at,
        why,
        say_position,
    )
    assert record is not None
    return Queued(
        room=RoomRow(**{f: record[f] for f in RoomRow.__struct_fields__}),
        position=record["q_position"],
    )


async def unassign(
    room_id: Id, reason: str, at: datetime, *, not_back_to: Id | None = None
) -> RoomRow:
    """The room leaves its assignee (a reassignment, a deactivated agent); routing will
    not give it back to `not_back_to`."""
    return await sql.returned(
        RoomRow,
        "UPDATE conversations SET owner_id = NULL, owner_type = '', assignment_reason = $2,"
        " tm_assigned = NULL, tm_awaiting_reply = NULL, tm_update = $3, reassigned_from = $4"
        f" WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        reason,
        at,
        not_back_to,
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
        " FOR NO KEY UPDATE SKIP LOCKED",
        team_id,
        limit,
    )


async def teams_with_queue() -> list[tuple[str, str]]:
    """(customer id, team id) of every live automatic team with a waiting room while one
    of its members could take one, for the timer's safety drain (normally none: freed
    slots are handed out by the change that frees them)."""
    records = await sql.fetch(
        "SELECT t.customer_id, t.id FROM teams t WHERE t.tm_delete IS NULL"
        " AND t.assignment_policy <> 'manual' AND EXISTS (SELECT 1 FROM conversations c"
        f" WHERE c.team_id = t.id AND {waiting('c')})"
        " AND EXISTS (SELECT 1 FROM team_members m JOIN agents a ON a.id = m.agent_id"
        "  WHERE m.team_id = t.id AND a.status = 'active' AND a.availability = 'online'"
        "  AND a.tm_delete IS NULL AND (SELECT count(*) FROM conversations o"
        "   WHERE o.owner_id = a.id AND o.status <> 'closed' AND o.tm_delete IS NULL)"
        "  < coalesce(a.max_open, t.max_open))"
    )
    return [(str(r["customer_id"]), str(r["id"])) for r in records]


async def open_rooms_of(customer_id: Id, agent_id: Id) -> list[RoomRow]:
    """The agent's open rooms, locked in id order."""
    return await sql.fetch_as(
        RoomRow,
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE customer_id = $1 AND owner_id = $2"
        " AND status <> 'closed' AND tm_delete IS NULL ORDER BY id FOR NO KEY UPDATE",
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
    " AND c.tm_awaiting_reply <= $1::timestamptz - make_interval(secs => t.reassign_after)"
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
        " AND c.id = $2 AND c.customer_id = $3 FOR NO KEY UPDATE OF c SKIP LOCKED",
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
