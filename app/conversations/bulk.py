"""Bulk actions: one action on many rooms (`POST /v1.0/conversations/bulk`).

Each room goes through the same service function as the single action
(`service.update_conversation`, `snooze.snooze_locked`, the read mark, a macro run), so the rules —
who may assign whom, what a closed room allows — exist once, and a room the caller may not
change answers with the error the single action would have given, in its row of the
result. A room that is already as asked is `ok` and records nothing: one event per changed
room.

Rooms are done 100 to a transaction, each inside a savepoint: a refused room undoes only
its own writes and events. One transaction per room would cost a commit (and a WAL flush)
per room; one for all 1,000 would hold every room's lock until the last.
"""

from __future__ import annotations

import msgspec

from app.automation import service as automation
from app.conversations import service as conversations
from app.conversations import snooze
from app.conversations import store as conversations_store
from app.core.events import savepoint, transaction
from app.domain.enums import BulkAction, ConversationStatus
from app.domain.errors import InvalidInput, ServiceError
from app.domain.principal import Principal
from app.domain.resources import BulkError, BulkIn, BulkItem, BulkOut, ConversationUpdate
from app.domain.timefmt import now
from app.people import agents

CHUNK = 100

FIELDS = {
    BulkAction.ASSIGN: ("owner_id",),
    BulkAction.MOVE_TEAM: ("team_id",),
    BulkAction.ADD_TAGS: ("tags",),
    BulkAction.REMOVE_TAGS: ("tags",),
    BulkAction.SET_PRIORITY: ("priority",),
    BulkAction.SNOOZE: (),  # until / until_reply, checked by snooze.parse_until
    BulkAction.CLOSE: (),
    BulkAction.MARK_READ: (),
    BulkAction.MACRO: ("macro_id",),
}
"""The fields each action needs."""
_OPTIONAL = ("owner_id", "team_id", "tags", "priority", "macro_id")


def _check(data: BulkIn) -> None:
    """The action's fields are there, and no other action's: else 422 before any room is
    touched."""
    needed = FIELDS[data.action]
    for name in _OPTIONAL:
        given = getattr(data, name) is not msgspec.UNSET
        if name in needed and not given:
            raise InvalidInput(
                "missing_field",
                f"{data.action.value} needs {name}.",
                fields=[{"field": name, "message": "required for this action"}],
            )
        if name not in needed and given:
            raise InvalidInput(
                "unexpected_field",
                f"{name} is not a field of {data.action.value}.",
                fields=[{"field": name, "message": "not a field of this action"}],
            )
    snoozing = data.until is not None or data.until_reply
    if snoozing and data.action is not BulkAction.SNOOZE:
        raise InvalidInput(
            "unexpected_field", f"until and until_reply are not fields of {data.action.value}."
        )


async def bulk(principal: Principal, data: BulkIn) -> BulkOut:
    _check(data)
    end = None
    if data.action is BulkAction.SNOOZE:
        end = snooze.parse_until(data.until, data.until_reply)
    if data.action is BulkAction.MACRO:  # a macro the caller may not use: 404 for all
        await automation.get_macro(principal, str(data.macro_id))
    ids = list(dict.fromkeys(i.lower() for i in data.conversation_ids))
    result: list[BulkItem] = []
    with agents.remembered():
        await _chunks(principal, data, ids, end, result)
    return BulkOut(result=result)


async def _chunks(principal: Principal, data: BulkIn, ids: list[str], end, result) -> None:
    for start in range(0, len(ids), CHUNK):
        async with transaction():
            for room_id in ids[start : start + CHUNK]:
                try:
                    async with savepoint():
                        await _one(principal, data, room_id, end)
                except ServiceError as exc:
                    error = BulkError(
                        status=exc.status_code, reason=exc.reason, message=exc.message
                    )
                    result.append(BulkItem(id=room_id, ok=False, error=error))
                else:
                    result.append(BulkItem(id=room_id, ok=True))


def _same(value: object, current: object) -> bool:
    return (str(value).lower() if value else None) == (str(current) if current else None)


async def _one(principal: Principal, data: BulkIn, room_id: str, end) -> None:
    action = data.action
    # found (404 when the caller may not see it) and locked first; a room already as asked
    # is left alone, so only changed rooms have events
    room = await conversations.get_room(principal, room_id, lock=True)
    if action is BulkAction.ASSIGN:
        if _same(data.owner_id, room.owner_id):
            return
        update = ConversationUpdate(owner_id=data.owner_id)
    elif action is BulkAction.MOVE_TEAM:
        if _same(data.team_id, room.team_id):
            return
        update = ConversationUpdate(team_id=data.team_id)
    elif action is BulkAction.SET_PRIORITY:
        assert not isinstance(data.priority, msgspec.UnsetType)  # _check
        if data.priority.value == room.priority:
            return
        update = ConversationUpdate(priority=data.priority)
    elif action is BulkAction.CLOSE:
        update = ConversationUpdate(status=ConversationStatus.CLOSED)  # closed: no change
    elif action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
        assert not isinstance(data.tags, msgspec.UnsetType)  # _check
        given = [t.strip() for t in data.tags]
        current = list(room.tags or [])
        if action is BulkAction.ADD_TAGS:
            tags = list(dict.fromkeys([*current, *given]))
        else:
            tags = [t for t in current if t not in set(given)]
        if tags == current:
            return
        if len(tags) > 50:
            raise InvalidInput("too_many_tags", "A conversation can have at most 50 tags.")
        update = ConversationUpdate(tags=tags)
    elif action is BulkAction.SNOOZE:
        await snooze.snooze_locked(principal, room, end, data.until_reply)
        return
    elif action is BulkAction.MACRO:
        await automation.run_macro_locked(principal, room_id, str(data.macro_id))
        return
    else:  # MARK_READ: the caller's own read mark; it changes no room, so no event
        await conversations_store.mark_read(
            principal.customer_id, principal.agent_id, str(room.id), now()
        )
        return
    await conversations.update_conversation(principal, room_id, update)
