"""Teams: a group of agents, the channel accounts whose new rooms it receives, and how
those rooms are given out (`manual`, `round_robin`, `least_busy`; app/routing/engine.py
decides). Any agent may read teams; admins change them.

A change that may give waiting rooms a free slot — a higher `max_open`, new members, a
policy that is no longer `manual` — lets the team's queue drain in the same transaction
(engine.drain). Deleting a team takes its rooms out of it (their owners keep them) and
ends its queue. Every change writes an event (`team_created`, `team_updated`,
`team_deleted`: the team resource) and an audit entry.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from app.audit import log as audit
from app.business_hours.service import check_business_hours
from app.channels import accounts
from app.conversations import service as conversations
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.domain.enums import AssignmentPolicy, EventType
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import AccountOut, TeamCreate, TeamOut, TeamUpdate
from app.domain.timefmt import fmt, now
from app.people import agent_store, agents
from app.routing import engine, team_store
from app.routing.team_store import TeamChanges, TeamRow

_NO_TEAM = ("team_not_found", "team")


def team_topic(customer_id: str, team_id: str) -> str:
    return f"customer_id:{customer_id}:team:{team_id}"


async def teams_out(rows: list[TeamRow]) -> list[TeamOut]:
    ids = [r.id for r in rows]
    members, accounts = await team_store.members(ids), await team_store.accounts(ids)
    return [
        TeamOut(
            id=str(r.id),
            customer_id=str(r.customer_id),
            name=r.name,
            detail=r.detail,
            agent_ids=members.get(str(r.id), []),
            account_ids=accounts.get(str(r.id), []),
            assignment_policy=r.assignment_policy,
            max_open=r.max_open,
            reassign_after=r.reassign_after,
            business_hours_id=str(r.business_hours_id) if r.business_hours_id else None,
            tm_create=fmt(r.tm_create),
            tm_update=fmt(r.tm_update),
            tm_delete=fmt(r.tm_delete),
        )
        for r in rows
    ]


async def team_out(row: TeamRow) -> TeamOut:
    return (await teams_out([row]))[0]


async def _event(type: EventType, team: TeamOut) -> None:
    """Every agent of the customer may read teams, so every agent gets their events."""
    await record_event(team.customer_id, type, team, [team_topic(team.customer_id, team.id)])


async def _members_changed(customer_id: str, agent_ids: set[str]) -> None:
    """Agents who joined or left a team: their resource's `team_ids` changed
    (`agent_updated`, so a copy of the agents list stays true)."""
    for agent_id in sorted(agent_ids):
        row = await agent_store.live(customer_id, agent_id)
        if row is not None:
            await agents.record_agent_updated(await agents.resource(row))


async def agent_left_teams(customer_id: str, team_ids: list[str]) -> None:
    """A deleted agent left these teams: each one's members changed (`team_updated`)."""
    for team_id in team_ids:
        row = await team_store.live(customer_id, team_id, lock=True)
        if row is not None:
            await _event(
                EventType.TEAM_UPDATED, await team_out(await team_store.touch(row.id, now()))
            )


def _unique(ids: list[str]) -> list[str]:
    """Canonical (lowercase) ids, each once, in the order given."""
    return list(dict.fromkeys(i.lower() for i in ids))


async def _checked_agents(customer_id: str, agent_ids: list[str]) -> list[str]:
    agent_ids = _unique(agent_ids)
    known = await agent_store.live_ids(customer_id, agent_ids)
    unknown = [i for i, a in enumerate(agent_ids) if a not in known]
    if unknown:
        raise InvalidInput(
            "unknown_agent",
            "agent_ids must name agents of this customer.",
            fields=[{"field": f"agent_ids[{i}]", "message": "no such agent"} for i in unknown],
        )
    return agent_ids


async def _checked_accounts(
    customer_id: str, team_id: UUID | None, account_ids: list[str]
) -> list[str]:
    account_ids = _unique(account_ids)
    known = await team_store.live_accounts(customer_id, account_ids)
    unknown = [i for i, a in enumerate(account_ids) if a not in known]
    if unknown:
        raise InvalidInput(
            "unknown_account",
            "account_ids must name channel accounts of this customer.",
            fields=[
                {"field": f"account_ids[{i}]", "message": "no such channel account"}
                for i in unknown
            ],
        )
    held = await team_store.held_elsewhere(customer_id, team_id, account_ids)
    if held:
        _in_other_team(held[0].account_id, held[0].team_name)
    return account_ids


def _in_other_team(account_id: str, team_name: str) -> None:
    raise Conflict(
        "account_in_other_team",
        f"The channel account {account_id} already routes to the team {team_name!r}: an"
        " account's new rooms go to one team. Remove it from that team first.",
    )


async def _set_accounts(row: TeamRow, account_ids: list[str]) -> None:
    customer_id = str(row.customer_id)
    try:
        await team_store.set_accounts(customer_id, row.id, account_ids)
    except asyncpg.UniqueViolationError:  # pragma: no cover - the insert skips conflicts
        raise Conflict("account_in_other_team", "A channel account routes to one team.") from None
    if stray := await team_store.stray_accounts(row.id, account_ids):
        # another team took it between the check and the insert
        held = await team_store.held_elsewhere(customer_id, row.id, stray)
        _in_other_team(stray[0], held[0].team_name if held else "another team")


def _check_name(name: str | None) -> None:
    if name is not None and not name.strip():
        raise InvalidInput(
            "invalid_name",
            "A team needs a name.",
            fields=[{"field": "name", "message": "must not be blank"}],
        )


# --- the service ---------------------------------------------------------------------------


async def create_team(principal: Principal, data: TeamCreate) -> TeamOut:
    require_admin(principal)
    _check_name(data.name)
    cid = principal.customer_id
    async with transaction():
        agent_ids = await _checked_agents(cid, data.agent_ids)
        account_ids = await _checked_accounts(cid, None, data.account_ids)
        row = await team_store.insert(
            cid,
            name=data.name,
            detail=data.detail,
            assignment_policy=data.assignment_policy.value,
            max_open=data.max_open,
            reassign_after=data.reassign_after,
            business_hours_id=await check_business_hours(
                cid, data.business_hours_id, "business_hours_id"
            ),
        )
        await team_store.set_members(cid, row.id, agent_ids)
        await _set_accounts(row, account_ids)
        out = await team_out(row)
        await audit.record(cid, principal, "team.created", "team", out.id, None, out)
        await _event(EventType.TEAM_CREATED, out)
        await _members_changed(cid, set(out.agent_ids))
    return out


async def get_team(principal: Principal, team_id: str) -> TeamOut:
    """Any agent of the customer."""
    team_id = parse_id(team_id, *_NO_TEAM)
    return await team_out(found(await team_store.live(principal.customer_id, team_id), *_NO_TEAM))


async def list_teams(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[TeamOut], str]:
    """Any agent of the customer; newest first."""
    rows, token = await team_store.page(principal.customer_id, page_size, page_token)
    return await teams_out(rows), token


def _frees_slots(before: TeamOut, after: TeamOut) -> bool:
    """Whether waiting rooms may now find a member with room."""
    if after.assignment_policy == AssignmentPolicy.MANUAL.value:
        return False
    return (
        before.assignment_policy == AssignmentPolicy.MANUAL.value
        or after.max_open > before.max_open
        or bool(set(after.agent_ids) - set(before.agent_ids))
    )


async def update_team(principal: Principal, team_id: str, data: TeamUpdate) -> TeamOut:
    require_admin(principal)
    _check_name(data.name)
    cid = principal.customer_id
    team_id = parse_id(team_id, *_NO_TEAM)
    try:
        return await _update(principal, cid, team_id, data)
    except _Unchanged as same:
        return same.team


async def _update(principal: Principal, cid: str, team_id: str, data: TeamUpdate) -> TeamOut:
    async with transaction():
        # The team row's lock, as the engine takes it: no routing decision of this team
        # runs with half of this change.
        row = found(await team_store.live(cid, team_id, lock=True), *_NO_TEAM)
        before = await team_out(row)
        agent_ids = None if data.agent_ids is None else await _checked_agents(cid, data.agent_ids)
        account_ids = (
            None
            if data.account_ids is None
            else await _checked_accounts(cid, row.id, data.account_ids)
        )
        changes = _changes(data)
        if isinstance(data.business_hours_id, str):
            changes = msgspec.structs.replace(
                changes,
                business_hours_id=await check_business_hours(
                    cid, data.business_hours_id, "business_hours_id"
                ),
            )
        row = await team_store.update(row.id, changes, now())
        if agent_ids is not None:
            await team_store.set_members(cid, row.id, agent_ids)
        if account_ids is not None:
            await _set_accounts(row, account_ids)
        after = await team_out(row)
        if _same(before, after):
            # Nothing changed: no event, no entry, and the rollback keeps the update time.
            raise _Unchanged(before)
        await audit.record(cid, principal, "team.updated", "team", after.id, before, after)
        await _event(EventType.TEAM_UPDATED, after)
        await _members_changed(cid, set(before.agent_ids) ^ set(after.agent_ids))
        if _frees_slots(before, after):
            await engine.drain(cid, [after.id], trigger="team_updated")
    return after


class _Unchanged(Exception):
    """A PUT that changes nothing: its transaction rolls back."""

    def __init__(self, team: TeamOut) -> None:
        self.team = team


def _changes(data: TeamUpdate) -> TeamChanges:
    unset = msgspec.UNSET
    return TeamChanges(
        name=unset if data.name is None else data.name,
        detail=unset if data.detail is None else data.detail,
        assignment_policy=(
            unset if data.assignment_policy is None else data.assignment_policy.value
        ),
        max_open=unset if data.max_open is None else data.max_open,
        reassign_after=unset if data.reassign_after is None else data.reassign_after,
        business_hours_id=data.business_hours_id,
    )


def _same(before: TeamOut, after: TeamOut) -> bool:
    return msgspec.structs.replace(before, tm_update="") == msgspec.structs.replace(
        after, tm_update=""
    )


async def delete_team(principal: Principal, team_id: str) -> TeamOut:
    """Soft delete: the team's rooms leave it (their owners keep them; waiting ones stop
    waiting, saying why), its accounts' new rooms go to no team, its members are free."""
    require_admin(principal)
    cid = principal.customer_id
    team_id = parse_id(team_id, *_NO_TEAM)
    async with transaction():
        found(await team_store.live(cid, team_id), *_NO_TEAM)
        await team_store.lock_rooms(cid, team_id)  # rooms first, then the team
        row = found(await team_store.live(cid, team_id, lock=True), *_NO_TEAM)
        before = await team_out(row)
        gone = await team_store.soft_delete(row.id, now())
        reason = f"Team {row.name} was deleted: no longer waiting"
        for room_id in await team_store.release_rooms(cid, row.id, reason):
            room = await conversations.room_by_id(cid, room_id)
            if room is not None:
                await conversations.room_event(
                    EventType.CONVERSATION_UPDATED, await conversations.room_out(room)
                )
        out = await team_out(gone)
        await audit.record(cid, principal, "team.deleted", "team", out.id, before, None)
        await _event(EventType.TEAM_DELETED, out)
        await _members_changed(cid, set(before.agent_ids))
    return out


async def delete_account(principal: Principal, account_id: str) -> AccountOut:
    """Delete a channel account (channels.accounts.delete) and tell its team: the team's
    `account_ids` lose it, which is a change of the team like any other (event, audit).
    The doors delete accounts through here; channels cannot import routing (routing
    imports conversations, which import channels)."""
    account_id = parse_id(account_id, "account_not_found", "channel account")
    async with transaction():
        cid = principal.customer_id
        holders = await team_store.held_elsewhere(cid, None, [account_id])
        team = holders[0].team_id if holders else None
        row = await team_store.live(cid, team, lock=True) if team else None
        before = await team_out(row) if row else None
        out = await accounts.delete(principal, account_id)
        if row is not None and before is not None:
            after = await team_out(await team_store.touch(row.id, now()))
            await audit.record(cid, principal, "team.updated", "team", after.id, before, after)
            await _event(EventType.TEAM_UPDATED, after)
    return out
