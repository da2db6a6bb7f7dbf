"""Talks, the agents' own chat: direct and group talks, their participants, and closing
and reopening. Messages live in talk.messages, reactions in talk_reactions.

Who may do what: only a talk's active participants read and write it (a talk is private:
its events reach its participants only, not admins). Admins may list every talk of their
customer, see a talk's details, add participants, close, reopen and delete any talk; a
talk they are not in is otherwise hidden from them like from anyone else ("not found").
"""

from __future__ import annotations

import msgspec

from app.core.events import transaction
from app.core.ids import parse_id
from app.core.pagination import check_page_size
from app.domain.enums import EventType, TalkStatus, TalkType
from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    TalkCreate,
    TalkOut,
    TalkParticipantOut,
    TalkUpdate,
)
from app.domain.timefmt import now
from app.people import agent_store
from app.people.agents import names as agent_names
from app.talk import messages as talk_messages
from app.talk import store as talk_store
from app.talk.access import TalkAccess, _access, participant_out, reach, talk_event, talk_out
from app.talk.store import ACTIVE, ParticipantRow, TalkRow

# --- shapes -------------------------------------------------------------------------


async def get_talk(principal: Principal, talk_id: str) -> TalkOut:
    return (await reach(principal, talk_id, as_admin=True)).out()


async def list_talks(
    principal: Principal,
    *,
    scope: str = "mine",
    status: TalkStatus | None = None,
    type: TalkType | None = None,
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[TalkOut], str]:
    """The principal's talks (where it is an active participant), newest first; with
    `scope="all"`, an admin's view of every talk of the customer."""
    check_page_size(page_size)
    if scope not in ("mine", "all"):
        raise InvalidInput("invalid_scope", "scope must be mine or all.")
    if scope == "all" and not principal.is_admin:
        raise Forbidden("admin_required", "Only an admin may list every talk.")
    rows, token = await talk_store.talk_page(
        principal.customer_id,
        member=principal.agent_id if scope == "mine" else None,
        status=status,
        type=type,
        page_size=page_size,
        page_token=page_token,
    )
    return await talks_out(rows), token


async def talks_out(rows: list[TalkRow]) -> list[TalkOut]:
    members = await talk_store.participants_of([r.id for r in rows])
    return [talk_out(r, members[str(r.id)]) for r in rows]


# --- events and system messages -----------------------------------------------------


# --- creating, changing -------------------------------------------------------------


async def _live_agents(customer_id: str, ids: list[str]) -> list[str]:
    parsed = [parse_id(a, "agent_not_found", "agent") for a in ids]
    found = await agent_store.live_ids(customer_id, parsed)
    missing = [a for a in parsed if a not in found]
    if missing:
        raise NotFound("agent_not_found", f"There is no agent {missing[0]}.")
    return list(dict.fromkeys(parsed))


async def create_talk(principal: Principal, data: TalkCreate) -> tuple[TalkOut, bool]:
    """A new talk with the creator and `participant_ids`; for a direct talk that already
    exists between the two agents, that talk (and False): the creator rejoins it if they
    had left, and it reopens if it was closed."""
    agents = await _live_agents(principal.customer_id, [principal.agent_id, *data.participant_ids])
    direct_key = None
    if data.type is TalkType.DIRECT:
        if len(agents) != 2:
            raise InvalidInput(
                "direct_needs_two",
                "A direct talk is between exactly two agents: name one other agent.",
            )
        direct_key = ":".join(sorted(agents))
    elif not data.name.strip():
        raise InvalidInput("name_required", "A group talk needs a name.")
    async with transaction():
        if direct_key is not None:
            # one creator at a time per pair, so two racing requests find one talk
            await talk_store.lock_direct_pair(direct_key)
            existing = await talk_store.live_direct(principal.customer_id, direct_key)
            if existing is not None:
                return await _revive_direct(principal, existing), False
        row = await talk_store.insert_talk(
            principal.customer_id,
            data.type,
            data.name.strip(),
            data.detail,
            principal.agent_id,
            direct_key,
            agents,
            now(),
        )
        # read back in participants_of's order (all joined at one time: by id), so the
        # answer and the talk_created event equal what GET returns later
        talk = (await _access(row, principal.agent_id)).out()
        await talk_event(EventType.TALK_CREATED, principal.customer_id, talk, agents, talk.id)
    return talk, True


async def _revive_direct(principal: Principal, talk_id: str) -> TalkOut:
    # not `reach`: the creator is one of the pair (the direct key says so) even after
    # leaving, when reach would hide the talk from them
    row = await talk_store.talk(principal.customer_id, talk_id, lock=True)
    if row is None:  # the direct key's advisory lock keeps it: not reached
        raise NotFound("talk_not_found", "There is no such talk.")
    access = await _access(row, principal.agent_id)
    if not access.member:
        access = await _join(principal, access, principal.agent_id)
    if access.closed:
        access = await _set_status(principal, access, TalkStatus.ACTIVE)
    return access.out()


async def update_talk(principal: Principal, talk_id: str, data: TalkUpdate) -> TalkOut:
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, lock=True)
        name = access.row.name if data.name is None else data.name.strip()
        detail = access.row.detail if data.detail is None else data.detail
        if access.row.type == TalkType.GROUP and not name:
            raise InvalidInput("name_required", "A group talk needs a name.")
        row = await talk_store.describe(access.id, name, detail, now())
        talk = talk_out(row, access.participants)
        await talk_event(
            EventType.TALK_UPDATED, access.customer_id, talk, access.active_agents, talk.id
        )
    return talk


async def delete_talk(principal: Principal, talk_id: str) -> TalkOut:
    """Soft-delete a talk (its creator or an admin): it leaves every list; the event is
    `talk_updated` with `tm_delete` set, as the event list (docs/WEBSOCKETS.md) has no
    talk_deleted."""
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, lock=True)
        if not principal.is_admin and str(access.row.creator_id) != principal.agent_id:
            raise Forbidden(
                "not_talk_creator", "Only the talk's creator or an admin may delete it."
            )
        talk = talk_out(await talk_store.soft_delete(access.id, now()), access.participants)
        await talk_event(
            EventType.TALK_UPDATED, access.customer_id, talk, access.active_agents, talk.id
        )
    return talk


async def close_talk(principal: Principal, talk_id: str) -> TalkOut:
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, lock=True)
        if not access.closed:
            access = await _set_status(principal, access, TalkStatus.CLOSED)
    return access.out()


async def reopen_talk(principal: Principal, talk_id: str) -> TalkOut:
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, lock=True)
        if access.closed:
            access = await _set_status(principal, access, TalkStatus.ACTIVE)
    return access.out()


async def _set_status(
    principal: Principal | None, access: TalkAccess, status: TalkStatus, why: str = ""
) -> TalkAccess:
    """Close or reopen, with its system line and event (`talk_closed` / `talk_updated`).
    Without a `principal` (the talk closes by itself), `why` says why."""
    row = await talk_store.set_status(access.id, status, now())
    access = msgspec.structs.replace(access, row=row)
    if principal is None:
        text = why
    else:
        actor = (await agent_names(access.customer_id, [principal.agent_id]))[principal.agent_id]
        verb = "closed" if status is TalkStatus.CLOSED else "reopened"
        text = f"{actor} {verb} the talk."
    await talk_messages.system_message(access, text, access.active_agents)
    event = EventType.TALK_CLOSED if status is TalkStatus.CLOSED else EventType.TALK_UPDATED
    await talk_event(event, access.customer_id, access.out(), access.active_agents, access.id)
    return access


# --- participants -------------------------------------------------------------------


async def add_participant(
    principal: Principal, talk_id: str, agent_id: str
) -> tuple[TalkParticipantOut, bool]:
    """Add an agent (by a participant or an admin); an agent already in the talk is
    returned as is (and False). A direct talk keeps its two agents."""
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, write=True, lock=True)
        [agent] = await _live_agents(access.customer_id, [agent_id])
        current = access.participant(agent)
        if current is not None and current.status == ACTIVE:
            return participant_out(current), False
        if access.row.type == TalkType.DIRECT and current is None:
            raise Conflict("direct_talk_fixed", "A direct talk is between its two agents only.")
        access = await _join(principal, access, agent)
        joined = _participant(access, agent)
    return participant_out(joined), True


def _participant(access: TalkAccess, agent_id: str) -> ParticipantRow:
    """The participant row a change in this transaction has just written."""
    found = access.participant(agent_id)
    if found is None:
        raise LookupError(f"agent {agent_id} is not in talk {access.id}")
    return found


async def _join(principal: Principal, access: TalkAccess, agent: str) -> TalkAccess:
    await talk_store.join(access.customer_id, access.id, agent, now())
    access = await _access(access.row, principal.agent_id)
    joined = _participant(access, agent)
    name = (await agent_names(access.customer_id, [agent]))[agent]
    await talk_event(
        EventType.TALK_PARTICIPANT_JOINED,
        access.customer_id,
        participant_out(joined),
        access.active_agents,
        access.id,
    )
    await talk_messages.system_message(access, f"{name} joined the talk.", access.active_agents)
    return access


async def remove_participant(
    principal: Principal, talk_id: str, participant_id: str
) -> TalkParticipantOut:
    """Leave (one's own participant) or remove someone (the talk's creator or an admin).
    When nobody is left, the talk closes."""
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True, lock=True)
        participant_id = parse_id(participant_id, "participant_not_found", "participant")
        current = next((p for p in access.participants if str(p.id) == participant_id), None)
        if current is None:
            raise NotFound("participant_not_found", "There is no such participant in this talk.")
        if current.status != ACTIVE:
            return participant_out(current)
        agent = str(current.agent_id)
        leaving = agent == principal.agent_id
        if not leaving and not (
            principal.is_admin or str(access.row.creator_id) == principal.agent_id
        ):
            raise Forbidden(
                "not_talk_creator", "Only the talk's creator or an admin may remove others."
            )
        if not leaving and access.row.type == TalkType.DIRECT:
            raise Conflict("direct_talk_fixed", "A direct talk's agents can only leave it.")
        await talk_store.leave(participant_id, now())
        before = access.active_agents
        access = await _access(access.row, principal.agent_id)
        gone = _participant(access, agent)
        names = await agent_names(access.customer_id, {agent, principal.agent_id})
        # the one who left hears of it too, so their desk drops the talk
        await talk_event(
            EventType.TALK_PARTICIPANT_LEFT,
            access.customer_id,
            participant_out(gone),
            before,
            access.id,
        )
        text = (
            f"{names[agent]} left the talk."
            if leaving
            else f"{names[principal.agent_id]} removed {names[agent]} from the talk."
        )
        await talk_messages.system_message(access, text, access.active_agents)
        if not access.active_agents and not access.closed:
            await _set_status(None, access, TalkStatus.CLOSED, "Everyone left; the talk closed.")
    return participant_out(gone)
