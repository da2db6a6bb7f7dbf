"""Conversations (rooms): create, read, list, update (rename, assign, tag, close, reopen),
delete, participants, and the idle/close lifecycle. Messages live in conversations.messages.

Visibility: admins and managers see every room of their customer; an `agent` sees the
rooms assigned to it and the unassigned ones. A room a principal may not see is "not
found", exactly like another customer's room.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from app.audit import log as audit
from app.channels import accounts
from app.channels.account_store import AccountRow
from app.contacts import matching as contacts
from app.conversations import activities, store
from app.conversations.shapes import (
    conversation_out,
    participant_out,
    room_event,
    room_out,
    rooms_out,
)
from app.conversations.store import ParticipantRow, RoomChanges, RoomFilter, RoomRow
from app.core.events import transaction
from app.core.ids import parse_id
from app.csat import service as csat
from app.domain import sla as sla_rules
from app.domain.channels import (
    PARTICIPANT_FOR_REFERENCE,
    REFERENCE_FOR_PARTICIPANT,
    normalize_address,
)
from app.domain.enums import (
    ConversationStatus,
    EventType,
    ParticipantType,
    Permission,
    Priority,
    ReferenceType,
)
from app.domain.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from app.domain.participants import ME, UNKNOWN
from app.domain.principal import Principal
from app.domain.resources import (
    ConversationCreate,
    ConversationOut,
    ConversationUpdate,
    ParticipantIn,
    ParticipantOut,
)
from app.domain.timefmt import now
from app.notifications import service as notifications
from app.people import agents
from app.routing import engine
from app.sla import tracking as sla

# --- shapes (conversations.shapes, re-exported: callers use conversations.room_out) ---

__all__ = ["conversation_out", "participant_out", "room_event", "room_out", "rooms_out"]


# --- finding rooms ------------------------------------------------------------------


def visible(principal: Principal, **filters: Any) -> RoomFilter:
    """The rooms the principal may see, narrowed by `filters` (RoomFilter's fields)."""
    viewer = None if principal.sees_all_conversations else principal.agent_id
    return RoomFilter(customer_id=principal.customer_id, viewer=viewer, **filters)


async def get_room(principal: Principal, conversation_id: str, *, lock: bool = False) -> RoomRow:
    """A live room the principal may see (locked for update when asked), else NotFound."""
    conversation_id = parse_id(conversation_id, "conversation_not_found", "conversation")
    viewer = None if principal.sees_all_conversations else principal.agent_id
    room = await store.visible_room(principal.customer_id, conversation_id, viewer, lock=lock)
    if room is None:
        raise NotFound("conversation_not_found", "There is no such conversation.")
    return room


async def room_by_id(customer_id: str, conversation_id: str) -> RoomRow | None:
    """A room as it is now, whoever may see it (for rendering pushes already filtered by
    the event's audience)."""
    return await store.room_of_customer(customer_id, conversation_id)


async def get_conversation(principal: Principal, conversation_id: str) -> ConversationOut:
    return await room_out(await get_room(principal, conversation_id))


async def list_conversations(
    principal: Principal,
    *,
    status: ConversationStatus | None = None,
    reference_type: ReferenceType | None = None,
    owner_id: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    team_id: str | None = None,
    priority: Priority | None = None,
    snoozed: bool | None = None,
    sla: str | None = None,
    sort: str = "created",
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[ConversationOut], str]:
    """`sort`: `created` (newest first, the API's rule), `priority` (urgent first, then
    newest first within a priority) or `sla` (breaching soonest first). `sla`: rooms
    whose most pressing SLA clock is `breached` or `warning`."""
    if sla is not None and sla not in ("breached", "warning"):
        raise BadRequest("invalid_sla", "sla must be breached or warning.")
    unassigned = owner_id in ("", "none")
    rooms = visible(
        principal,
        status=status.value if status else None,
        reference_type=reference_type.value if reference_type else None,
        owner_id=parse_owner_filter(owner_id) if owner_id and not unassigned else None,
        unassigned=unassigned,
        tag=tag or None,
        q=q.strip() if q and q.strip() else None,
        team_id=_team_filter(team_id) if team_id else None,
        priority=priority.value if priority else None,
        snoozed=snoozed,
        sla=sla,
    )
    if sort == "priority":
        rows, token = await store.page_by_priority_then_creation(rooms, page_size, page_token)
    elif sort == "created":
        rows, token = await store.page_by_creation(rooms, page_size, page_token)
    elif sort == "sla":
        rows, token = await store.page_by_sla_then_creation(rooms, page_size, page_token)
    else:
        raise BadRequest("invalid_sort", "sort must be created, priority or sla.")
    return await rooms_out(rows), token


def _team_filter(team_id: str) -> str:
    try:
        return parse_id(team_id, "", "")
    except NotFound:
        raise BadRequest("invalid_team_id", "team_id must be a team id.") from None


def parse_owner_filter(owner_id: str) -> str:
    try:
        return parse_id(owner_id, "", "")
    except NotFound:
        raise BadRequest("invalid_owner_id", "owner_id must be an agent id or 'none'.") from None


# --- creating rooms -----------------------------------------------------------------


async def open_room(
    customer_id: str,
    *,
    reference_type: ReferenceType,
    peer: str,
    peer_name: str,
    account: AccountRow | None,
    name: str = "",
    detail: str = "",
    contact_id: uuid.UUID | None = None,
) -> tuple[RoomRow, ParticipantRow]:
    """A new room with the customer's own address ("me") and the peer; returns the room
    row and the peer's participant row. A room on a channel account of a team
    (team_accounts) belongs to that team. The caller records `conversation_created`, then
    routes the room (routing.engine.route_locked)."""
    team = await engine.team_for_new_room(customer_id, account.id if account else None)
    room = await store.insert_room(
        customer_id,
        team_id=team.id if team else None,
        account_id=account.id if account else None,
        name=name or peer_name or peer,
        detail=detail,
        status=ConversationStatus.ACTIVE.value,
        reference_type=reference_type.value,
        reference_id=peer,
        at=now(),
    )
    ptype = PARTICIPANT_FOR_REFERENCE[reference_type].value
    if account is not None:
        await store.insert_participant(customer_id, room.id, ptype, account.address, ME)
    peer_row = await store.insert_participant(
        customer_id, room.id, ptype, peer, peer_name or UNKNOWN, contact_id=contact_id
    )
    return room, peer_row


async def attach_identity(
    room: RoomRow,
    ptype: ParticipantType,
    target: str,
    target_name: str,
    line: str,
    contact_id: uuid.UUID | None = None,
) -> ParticipantRow:
    """Make (ptype, target) a participant of `room` if it is not one yet (the same person
    on another channel: a web chat visitor who left their email address). Returns the
    participant row; records `conversation_participant_added` and a system `line` when new.
    Runs in the caller's transaction."""
    row = await store.live_participant(room.id, ptype.value, target)
    if row is not None:
        return row
    row = await store.insert_participant(
        room.customer_id,
        room.id,
        ptype.value,
        target,
        target_name or UNKNOWN,
        contact_id=contact_id,
    )
    await _people_changed(room, EventType.CONVERSATION_PARTICIPANT_ADDED, line)
    return row


def _normalized(participant: ParticipantIn, default_region: str) -> tuple[ParticipantType, str]:
    if participant.type is ParticipantType.AGENT:
        raise InvalidInput(
            "invalid_participant_type", "Agents take part through assignment, not as peers."
        )
    return participant.type, normalize_address(participant.type, participant.target, default_region)


async def _account_for(
    customer_id: str, reference_type: ReferenceType, account_id: str | None
) -> AccountRow | None:
    if account_id:
        account = await accounts.get_account(customer_id, account_id)
        if accounts.reference_of(account) is not reference_type:
            raise InvalidInput(
                "account_channel_mismatch",
                f"That channel account does not carry {reference_type.value} messages.",
            )
        return account
    for account in await accounts.live_accounts(customer_id):
        if accounts.reference_of(account) is reference_type:
            return account
    return None


async def create_conversation(
    principal: Principal, data: ConversationCreate, *, default_region: str = "US"
) -> ConversationOut:
    peers = [_normalized(p, default_region) for p in data.participants]
    if len(set(peers)) != len(peers):
        raise InvalidInput("duplicate_participant", "A participant is listed twice.")
    first_type, first_target = peers[0]
    reference_type = REFERENCE_FOR_PARTICIPANT[first_type]
    async with transaction():
        account = await _account_for(principal.customer_id, reference_type, data.account_id)
        first = data.participants[0]
        # each peer is a contact: the one holding its address, or a new one
        known = [
            (
                await contacts.resolve(
                    principal.customer_id,
                    (ptype.value, target),
                    [],
                    name=given.target_name,
                    label="",
                )
            ).sender
            for (ptype, target), given in zip(peers, data.participants, strict=True)
        ]
        room, _ = await open_room(
            principal.customer_id,
            reference_type=reference_type,
            peer=first_target,
            peer_name=first.target_name,
            account=account,
            name=data.name,
            detail=data.detail,
            contact_id=known[0],
        )
        for (ptype, target), given, contact_id in list(
            zip(peers, data.participants, known, strict=True)
        )[1:]:
            await store.insert_participant(
                principal.customer_id,
                room.id,
                ptype.value,
                target,
                given.target_name or UNKNOWN,
                given.name,
                given.detail,
                contact_id=contact_id,
            )
        if first.name or first.detail:
            await store.set_participant_profile(room.id, first_target, first.name, first.detail)
        out = await room_out(room)
        await room_event(EventType.CONVERSATION_CREATED, out)
        if room.team_id is not None:  # the new room is this transaction's alone
            out = await room_out(await engine.route_locked(room, trigger="created"))
    return out


# --- changing rooms -----------------------------------------------------------------


async def _check_owner(principal: Principal, room: RoomRow, owner_id: str | None) -> str | None:
    current = str(room.owner_id) if room.owner_id else None
    if principal.permission is Permission.AGENT:
        # An agent takes a room or lets it go; handing rooms to others is a lead's job.
        allowed = owner_id in (None, principal.agent_id) and current in (None, principal.agent_id)
        if not allowed:
            raise Forbidden(
                "assignment_not_allowed",
                "Agents may assign a room to themselves or unassign it; ask a manager.",
            )
    if owner_id is None:
        return None
    owner_id = parse_id(owner_id, "invalid_owner", "agent")
    if not await agents.is_live(principal.customer_id, owner_id):
        raise InvalidInput("invalid_owner", "owner_id must be an agent of this customer.")
    return owner_id


async def update_conversation(
    principal: Principal, conversation_id: str, data: ConversationUpdate
) -> ConversationOut:
    """Routing follows the change (routing.engine): a room that becomes unassigned, is
    reopened or moves to another team while unassigned is routed (an unassigned room is
    not given straight back to the agent who let it go); the agent who loses a room —
    closed, unassigned, handed to someone else — has a slot free, which goes to the head of
    its teams' queues. A room moved to another team keeps its assignee."""
    async with transaction():
        room = await get_room(principal, conversation_id, lock=True)
        changes: dict[str, Any] = {}
        if data.name is not msgspec.UNSET:
            changes["name"] = data.name
        if data.detail is not msgspec.UNSET:
            changes["detail"] = data.detail
        if data.tags is not msgspec.UNSET:
            changes["tags"] = list(dict.fromkeys(t.strip() for t in data.tags))
        if data.priority is not msgspec.UNSET:
            changes["priority"] = data.priority.value
        stamp = now()
        previous_owner = room.owner_id
        owner_changed = False
        if data.owner_id is not msgspec.UNSET:
            owner = await _check_owner(principal, room, data.owner_id)
            changes["owner_id"] = owner
            changes["owner_type"] = "agent" if owner else ""
            owner_changed = owner != (str(previous_owner) if previous_owner else None)
            if owner_changed:
                changes |= await _manual_assignment(principal, owner, previous_owner, stamp)
        moved = False
        if data.team_id is not msgspec.UNSET:
            team_id = await _check_team(principal, data.team_id)
            moved = team_id != (str(room.team_id) if room.team_id else None)
            if moved:
                changes["team_id"] = team_id
                if team_id is None:  # out of every team: out of the queue too
                    changes["tm_queued"] = None
                    if not changes.get("owner_id", previous_owner):
                        changes["assignment_reason"] = ""
        closing = reopening = False
        if data.status is not msgspec.UNSET and data.status.value != room.status:
            if data.status is ConversationStatus.IDLE:
                raise InvalidInput(
                    "invalid_status", "A room becomes idle by itself; set active or closed."
                )
            changes["status"] = data.status.value
            closing = data.status is ConversationStatus.CLOSED
            reopening = not closing and room.status == ConversationStatus.CLOSED.value
            if not closing:  # reopening counts as activity, or the idle timer would fire
                changes["tm_activity"] = stamp
            else:  # a closed room waits for nobody
                changes["tm_queued"] = None
                changes["tm_awaiting_reply"] = None
                # nor sleeps: it leaves the Snoozed view
                changes |= {"tm_snoozed": None, "snoozed_until": None, "snooze_until_reply": False}
            if reopening and room.merged_into is not None:
                raise Conflict(
                    "conversation_merged",
                    "This conversation was merged into another; reply there instead.",
                )
        if not changes:
            return await room_out(room)
        was_snoozed = room.tm_snoozed is not None
        repriced = "priority" in changes and changes["priority"] != room.priority
        room = await store.update_room(room.id, RoomChanges(**changes), stamp)
        if closing or reopening or repriced or moved:
            # the SLA clocks: closed (a snoozed room's snooze ends with it), reopened, or
            # the policy that applies looked up again
            facts = [sla_rules.CLOSED] if closing else [sla_rules.REOPENED] if reopening else []
            if closing and was_snoozed:
                facts.append(sla_rules.WOKE)
            room = await sla.on_change(room, facts, stamp)
        out = await room_out(room)
        await room_event(
            EventType.CONVERSATION_CLOSED if closing else EventType.CONVERSATION_UPDATED,
            out,
            previous_owner,
        )
        await _system_lines(principal, room, data, previous_owner, closing, reopening)
        if closing:  # the customer may be asked how it went (their channel's setting)
            await csat.room_closed(room, stamp)
        if owner_changed:  # a person's (un)assignment is in the audit log like routing's
            await audit.record(
                principal.customer_id,
                principal,
                "conversation.assigned" if room.owner_id else "conversation.unassigned",
                "conversation",
                room.id,
                {"owner_id": str(previous_owner) if previous_owner else None},
                {
                    "owner_id": str(room.owner_id) if room.owner_id else None,
                    "assignment_reason": room.assignment_reason,
                },
            )
            if room.owner_id is not None:  # the new owner hears of it (unless it took it)
                await notifications.assigned(
                    principal.customer_id,
                    str(room.id),
                    str(room.owner_id),
                    principal.agent_id,
                    notifications.room_label(room.name, room.last_message),
                )
        lost = previous_owner is not None and (closing or room.owner_id != previous_owner)
        unassigned = room.owner_id is None and room.status != ConversationStatus.CLOSED.value
        route_it = unassigned and room.team_id is not None and (owner_changed or reopening or moved)
        if route_it or lost:
            gave_up = str(previous_owner) if owner_changed and previous_owner else None
            room = await engine.room_changed(
                principal.customer_id,
                room,
                route_room=route_it,
                freed_by=previous_owner if lost else None,
                exclude_agent_id=gave_up,
            )
            out = await room_out(room)
    return out


async def _manual_assignment(
    principal: Principal, owner: str | None, previous_owner: uuid.UUID | None, at: datetime
) -> dict:
    """What a person's (un)assignment sets besides the owner: the reason, the room out of
    the queue and of the reassign-after timer (which watches routing's choices only); a
    room let go is not routed back to the agent who had it."""
    actor = await agents.display_name(principal)
    if owner is None:
        return {
            "assignment_reason": f"Unassigned by {actor}",
            "tm_assigned": None,
            "tm_awaiting_reply": None,
            "reassigned_from": str(previous_owner) if previous_owner else None,
        }
    return {
        "assignment_reason": f"Assigned by {actor}",
        "tm_assigned": at,
        "tm_queued": None,
        "tm_awaiting_reply": None,
        "reassigned_from": None,
    }


async def _check_team(principal: Principal, team_id: str | None) -> str | None:
    """A live team of the principal's customer, or None; else 422 invalid_team (like
    owner_id's invalid_owner: the body names something the caller cannot use)."""
    if team_id is None:
        return None
    team_id = parse_id(team_id, "invalid_team", "team")
    if await engine.team_for_room(principal.customer_id, team_id) is None:
        raise InvalidInput("invalid_team", "team_id must be a team of this customer.")
    return team_id


async def _system_lines(
    principal: Principal,
    room: RoomRow,
    data: ConversationUpdate,
    previous_owner: uuid.UUID | None,
    closing: bool,
    reopening: bool,
) -> None:
    """The timeline's record of who assigned, closed or reopened the room."""
    names = await agents.names(principal.customer_id, [principal.agent_id, room.owner_id])
    actor = names.get(principal.agent_id, principal.username)
    lines = []
    if data.owner_id is not msgspec.UNSET and room.owner_id != previous_owner:
        if room.owner_id is None:
            lines.append(f"{actor} unassigned the conversation")
        elif str(room.owner_id) == principal.agent_id:
            lines.append(f"{actor} took the conversation")
        else:
            lines.append(f"{actor} assigned the conversation to {names[str(room.owner_id)]}")
    if closing:
        lines.append(f"{actor} closed the conversation")
    if reopening:
        lines.append(f"{actor} reopened the conversation")
    for line in lines:
        await activities.record(room, activities.SYSTEM, line, principal.agent_id)


async def delete_conversation(principal: Principal, conversation_id: str) -> ConversationOut:
    if not principal.sees_all_conversations:
        raise Forbidden("manager_required", "Only admins and managers may delete conversations.")
    async with transaction():
        room = await get_room(principal, conversation_id, lock=True)
        room = await store.soft_delete_room(room.id, now())
        out = await room_out(room)
        await room_event(EventType.CONVERSATION_DELETED, out)
        await audit.record(
            principal.customer_id,
            principal,
            "conversation.deleted",
            "conversation",
            room.id,
            {"name": room.name, "owner_id": str(room.owner_id) if room.owner_id else None},
            None,
        )
        if room.owner_id is not None and room.status != ConversationStatus.CLOSED.value:
            # its owner has a slot free
            await engine.room_changed(
                principal.customer_id, room, route_room=False, freed_by=room.owner_id
            )
    return out


async def add_participant(
    principal: Principal, conversation_id: str, data: ParticipantIn, *, default_region: str = "US"
) -> ParticipantOut:
    ptype, target = _normalized(data, default_region)
    async with transaction():
        room = await get_room(principal, conversation_id, lock=True)
        if await store.live_participant(room.id, ptype.value, target) is not None:
            raise Conflict("participant_exists", "That address is already in this conversation.")
        contact = await contacts.resolve(
            principal.customer_id, (ptype.value, target), [], name=data.target_name, label=""
        )
        row = await store.insert_participant(
            principal.customer_id,
            room.id,
            ptype.value,
            target,
            data.target_name or UNKNOWN,
            data.name,
            data.detail,
            contact_id=contact.sender,
        )
        what = f"added {target} ({ptype.value})"
        await _people_changed(room, EventType.CONVERSATION_PARTICIPANT_ADDED, what, principal)
    return participant_out(row)


async def remove_participant(
    principal: Principal, conversation_id: str, participant_id: str
) -> ParticipantOut:
    participant_id = parse_id(participant_id, "participant_not_found", "participant")
    async with transaction():
        room = await get_room(principal, conversation_id, lock=True)
        row = await store.live_participant_by_id(room.id, participant_id)
        if row is None:
            raise NotFound("participant_not_found", "There is no such participant here.")
        if row.target_name == ME:
            raise Conflict(
                "cannot_remove_me", "The customer's own address cannot leave its conversation."
            )
        stamp = now()
        row = await store.remove_participant(row.id, stamp)
        gone = EventType.CONVERSATION_PARTICIPANT_REMOVED
        what = f"removed {row.target} ({row.type})"
        await _people_changed(room, gone, what, principal, at=stamp)
    return participant_out(row)


async def _people_changed(
    room: RoomRow,
    event_type: EventType,
    what: str,
    principal: Principal | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """After a participant was added or removed: the room marked changed, its event (the
    room as it now is), and the timeline's line saying `what` happened — and who did it,
    when an agent did."""
    room = await store.touch_room(room.id, at or now())
    await room_event(event_type, await room_out(room))
    if principal is None:
        await activities.record(room, activities.SYSTEM, what)
        return
    actor = await agents.display_name(principal)
    await activities.record(room, activities.SYSTEM, f"{actor} {what}", principal.agent_id)


# --- lifecycle ----------------------------------------------------------------------


async def sweep_lifecycle(
    *, idle_after: timedelta, close_after: timedelta, at: datetime | None = None, batch: int = 200
) -> tuple[int, int]:
    """Idle the active rooms quiet for `idle_after`, close the open ones quiet for
    `close_after`; one event per room. Returns (idled, closed). `at` is the clock."""
    at = at or now()
    closed = await _sweep(
        active_only=False, cutoff=at - close_after, to=ConversationStatus.CLOSED, at=at, batch=batch
    )
    idled = await _sweep(
        active_only=True, cutoff=at - idle_after, to=ConversationStatus.IDLE, at=at, batch=batch
    )
    return idled, closed


async def _sweep(
    *, active_only: bool, cutoff: datetime, to: ConversationStatus, at: datetime, batch: int
) -> int:
    done = 0
    while True:
        async with transaction():
            rows = await store.lock_quiet_rooms(
                active_only=active_only, quiet_since=cutoff, limit=batch
            )
            freed: dict[str, set[str]] = {}
            for row in rows:
                row = await store.set_status(row.id, to.value, at)
                if to is ConversationStatus.CLOSED:
                    row = await sla.on_change(row, [sla_rules.CLOSED], at)
                kind = (
                    EventType.CONVERSATION_CLOSED
                    if to is ConversationStatus.CLOSED
                    else EventType.CONVERSATION_UPDATED
                )
                await room_event(kind, await room_out(row))
                if kind is EventType.CONVERSATION_CLOSED:
                    await csat.room_closed(row, at)
                if kind is EventType.CONVERSATION_CLOSED and row.owner_id is not None:
                    freed.setdefault(str(row.customer_id), set()).add(str(row.owner_id))
            for customer_id, owners in sorted(freed.items()):
                # their owners have slots free: the heads of their teams' queues get them
                await engine.owners_freed(customer_id, owners)
        done += len(rows)
        if len(rows) < batch:
            return done
