"""Talk messages: posting (with threads and files), the stream and threads, editing,
deleting, reactions, and what each agent has not read yet.

Threads are one level deep, as in Slack and Zulip: a reply to a reply attaches to the
thread's root, and the root counts its live replies. The main stream lists roots; a
thread lists its replies. Deleting is soft: a deleted reply leaves the thread; a deleted
root stays, shown as "message deleted", while it still has replies.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import msgspec

from app.core.events import transaction
from app.core.ids import parse_id
from app.core.pagination import check_page_size
from app.domain import emoji as emojis
from app.domain.content import require_content
from app.domain.enums import EventType, TalkMessageType
from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    Media,
    ReactionOut,
    TalkMessageCreate,
    TalkMessageOut,
    TalkUnreadOut,
)
from app.domain.timefmt import fmt, now
from app.talk import store as talk_store
from app.talk.access import TalkAccess, reach, talk_event
from app.talk.store import MessageRow, UnreadRow

FILES_AREA = "talks/{talk_id}/files"
"""Where a talk's uploaded files live under the data directory, and their URL path."""


def files_area(talk_id: str) -> str:
    return FILES_AREA.format(talk_id=talk_id)


# --- shapes -------------------------------------------------------------------------


def message_out(row: MessageRow, reactions: list[ReactionOut] | None = None) -> TalkMessageOut:
    deleted = row.tm_delete is not None
    return TalkMessageOut(
        id=str(row.id),
        talk_id=str(row.talk_id),
        customer_id=str(row.customer_id),
        agent_id=str(row.agent_id) if row.agent_id else None,
        type=row.type,
        text="" if deleted else row.text,
        parent_id=str(row.parent_id) if row.parent_id else None,
        reply_count=row.reply_count,
        medias=[] if deleted else msgspec.json.decode(row.medias, type=list[Media]),
        reactions=[] if deleted else (reactions or []),
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_edit or row.tm_create),
        tm_delete=fmt(row.tm_delete),
    )


async def reactions_of(rows: list[MessageRow]) -> dict[str, list[ReactionOut]]:
    """Each message's reactions: one entry per emoji, in the order they were first used,
    with who reacted (oldest first)."""
    if not rows:
        return {}
    found: dict[str, list[ReactionOut]] = {}
    for r in await talk_store.reactions_of([m.id for m in rows]):
        found.setdefault(str(r.message_id), []).append(
            ReactionOut(emoji=r.emoji, count=len(r.agents), agent_ids=list(r.agents))
        )
    return found


async def with_reactions(rows: list[MessageRow]) -> list[TalkMessageOut]:
    reactions = await reactions_of(rows)
    return [message_out(r, reactions.get(str(r.id))) for r in rows]


async def message_event(
    type: EventType, access: TalkAccess, row: MessageRow, agents: Iterable[str]
) -> None:
    [message] = await with_reactions([row])
    await talk_event(type, access.customer_id, message, agents, access.id)


# --- posting ------------------------------------------------------------------------


async def insert_message(
    access: TalkAccess,
    agent_id: str | None,
    type: TalkMessageType,
    text: str,
    parent_id: str | None,
    medias: list[Media],
) -> MessageRow:
    return await talk_store.insert_message(
        access.customer_id,
        access.id,
        agent_id,
        type,
        text,
        parent_id,
        msgspec.json.encode(medias).decode(),
        now(),
    )


async def system_message(access: TalkAccess, text: str, agents: Iterable[str]) -> None:
    """A `system` line in the talk's stream ("Mina joined the talk."), for `agents`."""
    row = await insert_message(access, None, TalkMessageType.SYSTEM, text, None, [])
    await message_event(EventType.TALK_MESSAGE_CREATED, access, row, agents)


async def _message(access: TalkAccess, message_id: str, *, lock: bool = False) -> MessageRow:
    message_id = parse_id(message_id, "message_not_found", "message")
    row = await talk_store.message(access.id, message_id, lock=lock)
    if row is None:
        raise NotFound("message_not_found", "There is no such message in this talk.")
    return row


async def post_message(
    principal: Principal, talk_id: str, data: TalkMessageCreate
) -> TalkMessageOut:
    require_content(data.text, bool(data.medias))
    async with transaction():
        access = await reach(principal, talk_id, write=True)
        root = None
        if data.parent_id is not None:
            parent = await _message(access, data.parent_id)
            if parent.tm_delete is not None and parent.parent_id is not None:
                raise Conflict("message_deleted", "That message was deleted.")
            root_id = str(parent.parent_id or parent.id)
            root = await _message(access, root_id, lock=True)
        row = await insert_message(
            access,
            principal.agent_id,
            TalkMessageType.NORMAL,
            data.text,
            str(root.id) if root else None,
            data.medias,
        )
        agents = access.active_agents
        if root is not None:
            root = await talk_store.count_reply(root.id)
        await talk_store.touch(access.id, row.tm_create)
        # what one writes, one has read
        await talk_store.read_up_to(access.id, principal.agent_id, row.tm_create)
        message = message_out(row)
        await talk_event(
            EventType.TALK_MESSAGE_CREATED, access.customer_id, message, agents, access.id
        )
        if root is not None:
            await message_event(EventType.TALK_MESSAGE_UPDATED, access, root, agents)
    return message


# --- reading ------------------------------------------------------------------------


async def list_messages(
    principal: Principal,
    talk_id: str,
    parent_id: str | None = None,
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[TalkMessageOut], str]:
    """The stream's roots, or with `parent_id` one thread's replies; newest first."""
    check_page_size(page_size)
    access = await reach(principal, talk_id)
    root_id = None
    if parent_id is not None:
        root = await _message(access, parent_id)
        if root.parent_id is not None:
            root = await _message(access, str(root.parent_id))
        root_id = str(root.id)
    rows, token = await talk_store.message_page(access.id, root_id, page_size, page_token)
    return await with_reactions(rows), token


async def get_message(principal: Principal, talk_id: str, message_id: str) -> TalkMessageOut:
    access = await reach(principal, talk_id)
    [message] = await with_reactions([await _message(access, message_id)])
    return message


# --- editing and deleting -----------------------------------------------------------


async def edit_message(
    principal: Principal, talk_id: str, message_id: str, text: str
) -> TalkMessageOut:
    async with transaction():
        access = await reach(principal, talk_id, write=True)
        row = await _message(access, message_id, lock=True)
        if row.type != TalkMessageType.NORMAL or str(row.agent_id) != principal.agent_id:
            raise Forbidden("not_message_author", "Only its author may edit a message.")
        if row.tm_delete is not None:
            raise Conflict("message_deleted", "That message was deleted.")
        require_content(text, row.medias != "[]")
        row = await talk_store.edit_text(row.id, text, now())
        await message_event(EventType.TALK_MESSAGE_UPDATED, access, row, access.active_agents)
    [message] = await with_reactions([row])
    return message


async def delete_message(
    principal: Principal, talk_id: str, message_id: str, data_dir: Path | None = None
) -> TalkMessageOut:
    """Soft-delete (the author, or an admin of the customer, even outside the talk): the
    text, files and reactions go; the row stays for its thread."""
    async with transaction():
        access = await reach(principal, talk_id, as_admin=True)
        row = await _message(access, message_id, lock=True)
        mine = row.type == TalkMessageType.NORMAL and str(row.agent_id) == principal.agent_id
        if not (mine or principal.is_admin):
            raise Forbidden("not_message_author", "Only its author or an admin may delete it.")
        if row.tm_delete is not None:
            return message_out(row)
        files = msgspec.json.decode(row.medias, type=list[Media])
        row = await talk_store.soft_delete_message(row.id, now())
        agents = access.active_agents
        message = message_out(row)
        await talk_event(
            EventType.TALK_MESSAGE_DELETED, access.customer_id, message, agents, access.id
        )
        if row.parent_id is not None:
            root = await talk_store.uncount_reply(row.parent_id)
            await message_event(EventType.TALK_MESSAGE_UPDATED, access, root, agents)
    if data_dir is not None and files:
        # a file another live message still shows stays: any participant may post a link
        # to someone else's upload, and deleting that copy must not take the original
        in_use = await talk_store.medias_in_use(access.id, row.id)
        _remove_files(data_dir, access.id, files, in_use)
    return message


def _remove_files(data_dir: Path, talk_id: str, medias: list[Media], in_use: str = "") -> None:
    """A deleted message's uploaded files go too (links elsewhere are not ours), unless
    their key appears in `in_use` (the medias of the talk's other live messages)."""
    marker = f"/{files_area(talk_id)}/"
    for item in medias:
        _, found, rest = item.url.partition(marker)
        key = rest.split("/", 1)[0]
        if found and key and "." not in key and f"/{key}/" not in in_use:
            shutil.rmtree(data_dir / files_area(talk_id) / key, ignore_errors=True)


# --- reactions ----------------------------------------------------------------------


async def _reactable(principal: Principal, message_id: str) -> tuple[TalkAccess, MessageRow]:
    """The message `message_id` in a talk the principal is an active participant of."""
    message_id = parse_id(message_id, "message_not_found", "message")
    talk_id = await talk_store.talk_of_message(principal.customer_id, message_id)
    if talk_id is None:
        raise NotFound("message_not_found", "There is no such message.")
    try:
        access = await reach(principal, talk_id, write=True)
    except NotFound:
        raise NotFound("message_not_found", "There is no such message.") from None
    row = await _message(access, message_id, lock=True)
    if row.tm_delete is not None:
        raise Conflict("message_deleted", "That message was deleted.")
    return access, row


def _emoji(value: str) -> str:
    found = emojis.normalize(value)
    if found is None:
        raise InvalidInput(
            "invalid_emoji", "emoji must be an emoji (👍) or a short name such as thumbsup."
        )
    return found


async def add_reaction(
    principal: Principal, message_id: str, emoji: str
) -> tuple[TalkMessageOut, bool]:
    """React; a reaction the agent already has is kept as is (and False)."""
    emoji = _emoji(emoji)
    async with transaction():
        access, row = await _reactable(principal, message_id)
        added = await talk_store.add_reaction(
            access.customer_id, row.id, principal.agent_id, emoji, now()
        )
        if added:
            await message_event(EventType.TALK_REACTION_ADDED, access, row, access.active_agents)
    [message] = await with_reactions([row])
    return message, added


async def remove_reaction(principal: Principal, message_id: str, emoji: str) -> TalkMessageOut:
    emoji = _emoji(emoji)
    async with transaction():
        access, row = await _reactable(principal, message_id)
        removed = await talk_store.remove_reaction(row.id, principal.agent_id, emoji)
        if removed:
            await message_event(EventType.TALK_REACTION_REMOVED, access, row, access.active_agents)
    [message] = await with_reactions([row])
    return message


# --- unread -------------------------------------------------------------------------


def _unread_out(row: UnreadRow) -> TalkUnreadOut:
    return TalkUnreadOut(
        talk_id=str(row.talk_id), unread_count=row.unread, tm_read=fmt(row.tm_read)
    )


async def unread(principal: Principal) -> list[TalkUnreadOut]:
    """The principal's unread count in each of its talks."""
    rows = await talk_store.unread(principal.customer_id, agent_id=principal.agent_id)
    return [_unread_out(r) for r in rows]


async def unread_by_agent(customer_id: str, talk_id: str) -> dict[str, int]:
    """Every active participant's unread count in one talk (for the desk's badges)."""
    rows = await talk_store.unread(customer_id, talk_id=talk_id)
    return {str(r.agent_id): r.unread for r in rows}


async def mark_read(principal: Principal, talk_id: str) -> TalkUnreadOut:
    access = await reach(principal, talk_id)
    await talk_store.read_up_to(access.id, principal.agent_id, now())
    [row] = await talk_store.unread(
        principal.customer_id, agent_id=principal.agent_id, talk_id=access.id
    )
    return _unread_out(row)
