"""The actions rules and macros take, each through the service that owns the change, so
who may do what, what a closed room allows and what each change records (events, system
lines, audit entries, routing) exist once.

A rule acts as the automation principal (`automaton`): an admin's permission, the rule's
name as its name ("Rule 'VIP customers' closed the conversation"), no agent behind it (its
replies are no agent's: they answer no SLA clock). A macro acts as the agent who applies it,
with that agent's permission: an agent's macro cannot hand a room to someone else.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.canned import service as canned
from app.conversations import messages, notes, snooze
from app.conversations import service as conversations
from app.conversations.store import RoomRow
from app.domain.automation import NOTIFY_ASSIGNEE, NOTIFY_TEAM, Action, ActionType
from app.domain.enums import ConversationStatus, NotificationType, Permission, Priority
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal
from app.domain.resources import ConversationUpdate, MessageCreate
from app.domain.timefmt import now
from app.notifications import service as notifications
from app.people import agents
from app.routing import engine as routing
from app.routing import team_store

NOBODY = str(uuid.UUID(int=0))
"""The automation principal's agent id: no agent (system lines carry it as their author)."""
AUTOMATION = "automation"


def automaton(customer_id: str, rule_name: str) -> Principal:
    """Who a rule acts as."""
    return Principal(
        customer_id=str(customer_id),
        agent_id=NOBODY,
        username=f"Rule '{rule_name}'",
        permission=Permission.ADMIN,
        via=AUTOMATION,
    )


async def _update(principal: Principal, room: RoomRow, **fields) -> None:
    await conversations.update_conversation(principal, str(room.id), ConversationUpdate(**fields))


async def _notify(principal: Principal, room: RoomRow, who: list[str], rule: str) -> int:
    agent_ids: list[str] = []
    for name in who:
        if name == NOTIFY_ASSIGNEE:
            if room.owner_id is not None:
                agent_ids.append(str(room.owner_id))
        elif name == NOTIFY_TEAM:
            if room.team_id is not None:
                agent_ids += (await team_store.members([room.team_id])).get(str(room.team_id), [])
        elif await agents.is_live(principal.customer_id, name):
            agent_ids.append(name)
        else:
            raise InvalidInput("invalid_agent", "notify names an agent that does not exist.")
    if not agent_ids:
        raise Conflict("nobody_to_notify", "Nobody to notify: the room has no assignee or team.")
    label = notifications.room_label(room.name, room.last_message)
    told = await notifications.about_room(
        principal.customer_id,
        str(room.id),
        agent_ids,
        NotificationType.AUTOMATION,
        f"{rule}: {label}",
    )
    return len(told)


async def apply(principal: Principal, room_id: str, action: Action, rule: str) -> None:
    """Take one action on the room (re-read and locked: an earlier action may have
    changed it). A ServiceError says why it could not; the caller keeps the others."""
    room = await conversations.get_room(principal, room_id, lock=True)
    t, v = ActionType(action.type), action.value
    if t is ActionType.ASSIGN:
        if str(room.owner_id) != v:
            await _update(principal, room, owner_id=v)
    elif t is ActionType.ROUTE:
        if room.team_id is None:
            raise Conflict("no_team", "The conversation belongs to no team to route it in.")
        if room.owner_id is not None:
            await _update(principal, room, owner_id=None)  # unassigned: routing takes it
        else:
            await routing.route_locked(room, trigger=AUTOMATION)
    elif t is ActionType.MOVE_TEAM:
        if (str(room.team_id) if room.team_id else None) != v:
            await _update(principal, room, team_id=v)
    elif t in (ActionType.ADD_TAGS, ActionType.REMOVE_TAGS):
        given = list(v)  # type: ignore[arg-type]
        current = list(room.tags or [])
        if t is ActionType.ADD_TAGS:
            tags = list(dict.fromkeys([*current, *given]))
        else:
            tags = [x for x in current if x not in set(given)]
        if len(tags) > 50:
            raise InvalidInput("too_many_tags", "A conversation can have at most 50 tags.")
        if tags != current:
            await _update(principal, room, tags=tags)
    elif t is ActionType.SET_PRIORITY:
        if room.priority != v:
            await _update(principal, room, priority=Priority(str(v)))
    elif t is ActionType.SEND_CANNED:
        filled = await canned.render(principal, str(v), str(room.id))
        await messages.send_message(principal, str(room.id), MessageCreate(text=filled.text))
    elif t is ActionType.ADD_NOTE:
        await notes.add_note(principal, str(room.id), str(v))
    elif t is ActionType.SNOOZE:
        end = now() + timedelta(minutes=int(v)) if v is not None else None  # type: ignore[arg-type]
        await snooze.snooze_locked(principal, room, end, v is None)
    elif t is ActionType.CLOSE:
        if room.status != ConversationStatus.CLOSED.value:
            await _update(principal, room, status=ConversationStatus.CLOSED)
    elif t is ActionType.REOPEN:
        if room.status == ConversationStatus.CLOSED.value:
            await _update(principal, room, status=ConversationStatus.ACTIVE)
    else:  # NOTIFY
        await _notify(principal, room, list(v), rule)  # type: ignore[arg-type]


WRITES_ITS_OWN_LINE = frozenset(
    {
        ActionType.ASSIGN,
        ActionType.CLOSE,
        ActionType.REOPEN,
        ActionType.SNOOZE,
        ActionType.ADD_NOTE,
    }
)
"""Actions whose service writes the room's system line itself ("Rule 'X' closed the
conversation", a note): a run's own line leaves them out."""
