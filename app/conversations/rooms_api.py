"""`/v1.0/conversations`: snooze, bulk actions and merge."""

from __future__ import annotations

from litestar import Controller, delete, post

from app.api.openapi import answers
from app.conversations import bulk, merge, snooze
from app.domain.errors import Conflict
from app.domain.principal import Principal
from app.domain.resources import BulkIn, BulkOut, ConversationOut, MergeIn, SnoozeIn


class RoomActionsController(Controller):
    path = "/v1.0/conversations"
    tags = ["conversations"]

    @post("/bulk", status_code=200)
    async def bulk_action(self, principal: Principal, data: BulkIn) -> BulkOut:
        """One action on up to 1,000 rooms: `assign` (`owner_id`, null unassigns),
        `move_team` (`team_id`), `add_tags` / `remove_tags` (`tags`), `set_priority`
        (`priority`), `snooze` (`until`, `until_reply`), `close`, `mark_read`. Each room is
        changed as the single action would change it, with the same permissions: a room
        the caller may not change has `ok: false` and the single action's error (its
        `status`, `reason` and `message`) in its row of `result`; the others are done. A
        room already as asked is `ok` and unchanged. One event per changed room
        (`mark_read` changes no room: no event). A missing field of the action, or another
        action's field, is a `422` before any room is touched."""
        return await bulk.bulk(principal, data)

    @post("/{conversation_id:str}/snooze", status_code=200, opt=answers(Conflict))
    async def snooze_conversation(
        self, principal: Principal, conversation_id: str, data: SnoozeIn
    ) -> ConversationOut:
        """Snooze the room until `until` (a future time), until the customer replies
        (`until_reply`), or both (whichever comes first; any message from the customer
        wakes a snoozed room). It leaves the desk's open views for "Snoozed" and wakes with
        `conversation_woke`. Snoozing a snoozed room sets its new end; a closed room is a
        `409`. Event: `conversation_snoozed`."""
        return await snooze.snooze(principal, conversation_id, data.until, data.until_reply)

    @delete("/{conversation_id:str}/snooze", status_code=200, opt=answers(Conflict))
    async def wake_conversation(
        self, principal: Principal, conversation_id: str
    ) -> ConversationOut:
        """Wake a snoozed room now (`409` if it is not snoozed). Event: `conversation_woke`."""
        return await snooze.wake(principal, conversation_id)

    @post("/{conversation_id:str}/merge", status_code=200, opt=answers(Conflict))
    async def merge_conversation(
        self, principal: Principal, conversation_id: str, data: MergeIn
    ) -> ConversationOut:
        """Merge the room `conversation_id` of the body (B) into this one (A): B's
        participants (one per address), messages, notes and system lines move here, tags
        combine; B closes with `merged_into` set to this room (`GET` of B shows it). A
        system line in both rooms and an audit entry (`conversation.merged`) record who
        merged what. Returns this room. Either room unknown or not yours to see: `404`;
        into itself: `422`; a room already merged away: `409`. Events:
        `conversation_updated` (A, B), `conversation_merged` (B)."""
        return await merge.merge(principal, conversation_id, data.conversation_id)
