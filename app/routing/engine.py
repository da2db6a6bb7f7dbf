"""The routing engine: who gets a room of a team, or why it waits.

Every function runs inside the caller's `core.events.transaction()`; each decision writes
the room's `assignment_reason`, a system line in its timeline, a `conversation_assigned`
event (the room, with the new and the previous owner as audience) and an audit entry
(actor `system`).

Eligible: a member of the room's team, `status = active`, not deleted, `availability =
online`, holding fewer open rooms (any team's, not closed, not deleted) than its capacity,
`coalesce(agents.max_open, teams.max_open)`. Away and offline agents never get a room.

Policies: `round_robin` takes the first eligible member after `teams.rr_last_agent_id`
in agent id order, wrapping; `least_busy` takes the eligible members with the fewest open
rooms and breaks ties the same round-robin way. Both store the chosen agent in
`rr_last_agent_id`, in the database, so the turn is fair across processes and restarts.
`manual`: new rooms wait in the team's queue ("Team X assigns by hand") until someone
assigns them; should the team switch to an automatic policy, `drain` hands the queue out in
order.

The queue: unassigned open rooms of a team with `tm_queued` set (waiting since), served by
priority (urgent first) then waiting time.

Lock order, to keep concurrent decisions free of deadlocks:
1. room rows (`conversations ... FOR NO KEY UPDATE`), as the service that changes a room takes
   them (an inbound message, a PUT, the lifecycle);
2. team rows (`teams ... FOR NO KEY UPDATE`: see engine_store.lock_teams for why not
   FOR UPDATE), all of a transaction's teams in one call, by id
   (engine_store.lock_teams) — decisions in one team are serial, so two rooms arriving
   together for one free slot, in any two processes, cannot both get it;
3. the members' capacity locks (advisory, by key), in the same call — an agent in two
   teams is never given rooms by both teams' decisions at once.
While holding team locks, routing takes further room locks only with SKIP LOCKED (the
queue head a transaction is busy with is left to it), so it never waits for a room while
holding a team. The per-customer event lock (core.events) comes last, at commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from app.audit import log as audit
from app.conversations import activities
from app.conversations import store as conversations_store
from app.conversations.shapes import conversation_out, room_event
from app.conversations.store import RoomRow
from app.domain.enums import AssignmentPolicy, Availability, EventType
from app.domain.timefmt import now
from app.notifications import service as notifications
from app.routing import engine_store
from app.routing.engine_store import MemberRow, TeamRow

POLICY_NAMES = {
    AssignmentPolicy.ROUND_ROBIN.value: "round robin",
    AssignmentPolicy.LEAST_BUSY.value: "least busy",
}


# --- the decision, pure -------------------------------------------------------------------


def eligible(member: MemberRow) -> bool:
    """May get a room now, capacity aside."""
    return member.status == "active" and member.availability == Availability.ONLINE.value


def choose(team: TeamRow, members: list[MemberRow], exclude: str | None = None) -> MemberRow | None:
    """The member the team's policy gives the next room to, or None when nobody has room.
    `members` are in agent id order."""
    free = [
        m
        for m in members
        if eligible(m) and m.open < m.capacity and str(m.agent_id) != (exclude or "")
    ]
    if not free:
        return None
    if team.assignment_policy == AssignmentPolicy.LEAST_BUSY.value:
        fewest = min(m.open for m in free)
        free = [m for m in free if m.open == fewest]
    last = str(team.rr_last_agent_id) if team.rr_last_agent_id else ""
    # canonical UUID strings sort like PostgreSQL sorts uuids
    after = [m for m in free if str(m.agent_id) > last]
    return (after or free)[0]


def why_waiting(team: TeamRow, members: list[MemberRow], exclude: str | None = None) -> str:
    """Why no member of the team can take a room now, in words."""
    if not members:
        return f"team {team.name} has no members"
    active = [m for m in members if m.status == "active"]
    online = [m for m in active if eligible(m)]
    if not online:
        away = sum(m.availability == Availability.AWAY.value for m in active)
        off = len(active) - away
        parts = [f"{n} {what}" for n, what in ((away, "away"), (off, "offline")) if n]
        return f"no member of {team.name} is online ({', '.join(parts) or 'none active'})"
    others = [m for m in online if str(m.agent_id) != (exclude or "")]
    if not others:
        return "no other member is online"
    if len(others) < len(online):
        if len(others) == 1:
            return "the other online member is at capacity"
        return f"all {len(others)} other online members at capacity"
    if len(online) == len(members):
        return f"all {_members(len(online))} at capacity"
    return f"all {_members(len(online))} online at capacity"


def _members(n: int) -> str:
    return f"{n} member" + ("" if n == 1 else "s")


def duration(seconds: int) -> str:
    """ "10 minutes", "90 seconds", "2 hours"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}" + ("" if n == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


# --- the teams a transaction decides for --------------------------------------------------


class _Teams:
    """The teams a transaction has locked, their members (read once, kept up to date as
    rooms are given out) and their round-robin positions."""

    def __init__(self, customer_id: str, teams: list[TeamRow]) -> None:
        self.customer_id = customer_id
        self.teams = {str(t.id): t for t in teams}
        self._members: dict[str, list[MemberRow]] = {}

    def get(self, team_id: Any) -> TeamRow | None:
        return self.teams.get(str(team_id)) if team_id else None

    async def members(self, team: TeamRow) -> list[MemberRow]:
        key = str(team.id)
        if key not in self._members:
            self._members[key] = await engine_store.members(team)
        return self._members[key]

    def given(self, team: TeamRow, agent: MemberRow) -> None:
        """`agent` got a room of `team` (engine_store.assign moved the team's turn to it):
        one more open room wherever it is a member."""
        self.teams[str(team.id)] = msgspec.structs.replace(team, rr_last_agent_id=agent.agent_id)
        for key, people in self._members.items():
            self._members[key] = [
                msgspec.structs.replace(m, open=m.open + 1) if m.agent_id == agent.agent_id else m
                for m in people
            ]


async def _lock(customer_id: str, team_ids: Iterable[Any]) -> _Teams:
    return _Teams(customer_id, await engine_store.lock_teams(customer_id, team_ids))


# --- what a decision writes ------------------------------------------------------------


async def _taken_back(customer_id: str, before: RoomRow, row: RoomRow, line: str) -> None:
    """A room taken from its assignee by routing (deactivation, nobody replied): the
    timeline line and the audit entry; deciding again is the caller's next step."""
    await activities.record(row, activities.SYSTEM, line)
    await audit.record(
        customer_id,
        audit.SYSTEM,
        "conversation.reassigned",
        "conversation",
        row.id,
        _state(before),
        _state(row),
    )


def _state(room: RoomRow, queue_position: int | None = None) -> dict[str, Any]:
    """A room's routing state, for the audit log's before/after."""
    return {
        "owner_id": str(room.owner_id) if room.owner_id else None,
        "team_id": str(room.team_id) if room.team_id else None,
        "priority": room.priority,
        "assignment_reason": room.assignment_reason,
        "queue_position": queue_position if room.tm_queued is not None else None,
    }


async def _announce(
    before: RoomRow,
    after: RoomRow,
    action: str,
    line: str,
    previous_owner: Any = None,
    queue_position: int | None = None,
) -> None:
    """The decision's event, system line and audit entry."""
    people = await conversations_store.live_participants([after.id])
    out = conversation_out(after, people[str(after.id)], queue_position)
    await room_event(
        EventType.CONVERSATION_ASSIGNED, out, previous_owner if previous_owner else before.owner_id
    )
    written = await engine_store.line_and_audit(
        after, line, now(), action, _state(before), _state(after, out.queue_position)
    )
    await activities.announce(after, written)


async def _assign(
    room: RoomRow, team: TeamRow, agent: MemberRow, teams: _Teams, previous_owner: Any
) -> RoomRow:
    policy = POLICY_NAMES.get(team.assignment_policy, team.assignment_policy)
    reason = (
        f"Assigned to {agent.name} by {policy}: online, {agent.open + 1} of {agent.capacity} open"
    )
    row = await engine_store.assign(room.id, agent.agent_id, reason, now(), team.id)
    teams.given(team, agent)
    await _announce(room, row, "conversation.assigned", reason, previous_owner)
    # the agent hears of its new room: routing is "someone else"
    await notifications.assigned(
        str(row.customer_id),
        str(row.id),
        str(agent.agent_id),
        None,
        notifications.room_label(row.name, row.last_message),
    )
    return row


async def _enqueue(room: RoomRow, why: str, previous_owner: Any, *, position: bool) -> RoomRow:
    """The room waits in its team's queue because `why`; the reason says its position."""
    queued = await engine_store.enqueue(room.id, now(), why, say_position=position)
    row = queued.room
    await _announce(
        room, row, "conversation.queued", row.assignment_reason, previous_owner, queued.position
    )
    return row


async def _decide(
    room: RoomRow, teams: _Teams, *, exclude: str | None = None, previous_owner: Any = None
) -> RoomRow:
    """Give the unassigned open `room` (locked) to a member of its team, or queue it."""
    team = teams.get(room.team_id)
    if team is None or room.owner_id is not None or room.status == "closed":
        return room
    if exclude is None and room.reassigned_from is not None:
        exclude = str(room.reassigned_from)
    if team.assignment_policy == AssignmentPolicy.MANUAL.value:
        why = f"Team {team.name} assigns by hand"
        return await _enqueue(room, why, previous_owner, position=False)
    members = await teams.members(team)
    agent = choose(team, members, exclude)
    if agent is not None:
        return await _assign(room, team, agent, teams, previous_owner)
    why = "Waiting: " + why_waiting(team, members, exclude)
    return await _enqueue(room, why, previous_owner, position=True)


async def _drain_team(team: TeamRow, teams: _Teams) -> int:
    """Give the head of the team's queue to free members until nobody has room or the
    queue is empty. A room is never given back to the agent it was taken from
    (`reassigned_from`): the rooms behind it may still fit. Returns how many rooms were
    assigned."""
    if team.assignment_policy == AssignmentPolicy.MANUAL.value:
        return 0
    members = await teams.members(team)
    room_left = sum(max(0, m.capacity - m.open) for m in members if eligible(m))
    if room_left <= 0:
        return 0
    given = 0
    # a few more than the free slots: a head that only its previous assignee could take
    # is passed over
    for head in await engine_store.queue_heads(team.id, room_left + 10):
        team = teams.get(team.id) or team
        members = await teams.members(team)
        not_back_to = str(head.reassigned_from) if head.reassigned_from else None
        agent = choose(team, members, not_back_to)
        if agent is None:
            if not_back_to is not None and choose(team, members) is not None:
                continue
            break
        await _assign(head, team, agent, teams, None)
        given += 1
    return given


# --- the public functions -----------------------------------------------------------------


async def route(
    room_id: str, customer_id: str, *, trigger: str, exclude_agent_id: str | None = None
) -> None:
    """A new, reopened or unassigned room of a team: give it to an eligible member, or put
    it in the team's queue. A room with an owner keeps it, a room already waiting keeps its
    place; rooms without a team are left alone. `trigger` says what asked ("inbound",
    "created", ...)."""
    room = await engine_store.lock_room(customer_id, room_id)
    if room is not None:
        await route_locked(room, trigger=trigger, exclude_agent_id=exclude_agent_id)


async def route_locked(
    room: RoomRow, *, trigger: str, exclude_agent_id: str | None = None
) -> RoomRow:
    """`route()` for a room the caller already holds locked (the inbound path has it):
    one statement less on every arrival. Returns the room as it now is."""
    if room.team_id is None or room.owner_id is not None or room.tm_queued is not None:
        return room  # no team, an owner, or already waiting (drain() serves the queue)
    teams = await _lock(str(room.customer_id), [room.team_id])
    return await _decide(room, teams, exclude=exclude_agent_id)


async def drain(customer_id: str, team_ids: Iterable[str], *, trigger: str) -> None:
    """Give the queue heads of these teams to free members until nobody has room or the
    queue is empty (an agent came online, a capacity was raised, members were added, a
    slot was freed)."""
    teams = await _lock(customer_id, team_ids)
    for team in list(teams.teams.values()):
        await _drain_team(team, teams)


async def teams_of_agent(customer_id: str, agent_id: str) -> list[str]:
    """The live teams the agent is a member of."""
    return await engine_store.teams_of_agent(customer_id, agent_id)


async def release_agent(customer_id: str, agent_id: str, *, reason: str) -> None:
    """An agent who may no longer hold rooms (deactivated): each of its open rooms is
    unassigned — "Unassigned: <reason>" — and routed again without it."""
    rooms = await engine_store.open_rooms_of(customer_id, agent_id)
    if not rooms:
        return
    teams = await _lock(customer_id, {r.team_id for r in rooms})
    line = f"Unassigned: {reason}"
    for room in rooms:
        row = await engine_store.unassign(room.id, line, now())
        if teams.get(row.team_id) is None:
            await _announce(room, row, "conversation.reassigned", line, agent_id)
            continue
        await _taken_back(customer_id, room, row, line)
        await _decide(row, teams, exclude=agent_id, previous_owner=agent_id)


async def room_changed(
    customer_id: str,
    room: RoomRow,
    *,
    route_room: bool,
    freed_by: Any = None,
    exclude_agent_id: str | None = None,
) -> RoomRow:
    """After a service changed `room` (locked): route it when `route_room` (it became
    unassigned, was reopened, or moved to another team), and hand the slot `freed_by` an
    agent (it closed, lost or gave up a room) to its teams' queues. The room is not given
    to `exclude_agent_id`, nor to its `reassigned_from`. Returns the room as it now is."""
    team_ids: list[Any] = [room.team_id] if route_room and room.team_id else []
    freed_teams = await engine_store.teams_of_agent(customer_id, freed_by) if freed_by else []
    team_ids += freed_teams
    if not team_ids:
        return room
    teams = await _lock(customer_id, team_ids)
    if route_room:
        room = await _decide(room, teams, exclude=exclude_agent_id, previous_owner=freed_by)
    for team_id in freed_teams:
        team = teams.get(team_id)
        if team is not None:
            await _drain_team(team, teams)
    return room


async def owners_freed(customer_id: str, agent_ids: Iterable[Any]) -> None:
    """Agents who each lost open rooms (the lifecycle closed them): drain their teams."""
    team_ids: set[str] = set()
    for agent_id in {str(a) for a in agent_ids if a}:
        team_ids.update(await engine_store.teams_of_agent(customer_id, agent_id))
    if team_ids:
        await drain(customer_id, team_ids, trigger="closed")


async def team_for_room(customer_id: str, team_id: str) -> TeamRow | None:
    """A live team of the customer (a room may be moved to it), else None."""
    return await engine_store.team(customer_id, team_id)


async def team_for_new_room(customer_id: str, account_id: Any) -> TeamRow | None:
    """The team a new room on this channel account belongs to (team_accounts)."""
    if account_id is None:
        return None
    return await engine_store.team_of_account(customer_id, account_id)


async def reassign_unanswered(
    customer_id: str, room_id: str, *, at: datetime | None = None
) -> bool:
    """The reassign-after timer: a room whose assignee (given by routing) has not replied
    within the team's `reassign_after` goes back to routing without that agent — to
    someone else if possible, else the queue. False when the room no longer qualifies."""
    found = await engine_store.lock_overdue_room(customer_id, room_id, at or now())
    if found is None:
        return False
    room, after_seconds = found.room, found.reassign_after
    previous = str(room.owner_id)
    name = await engine_store.agent_name(customer_id, previous)
    line = f"Reassigned: {name} did not reply within {duration(after_seconds)}"
    row = await engine_store.unassign(room.id, line, now(), not_back_to=previous)
    await _taken_back(customer_id, room, row, line)
    await room_changed(
        customer_id, row, route_room=True, freed_by=previous, exclude_agent_id=previous
    )
    return True
