"""Canned replies: personal ones (each agent manages its own) and shared ones (`owner_id`
null: every agent uses them, admins change them).

An agent sees its own and the shared replies; another agent's personal reply does not
exist for it (404, as a foreign id), admins included: a personal reply is its owner's.
Changing a shared reply without being an admin is a 403. A shortcut is unique within its
scope (the owner's replies, or the shared ones) and stored lowercase. Every change
records `canned_response_created|updated|deleted` (the resource); a shared reply's
changes also leave an audit entry (tenant configuration, like teams), a personal one's do
not (an agent's own drafts, like its talk messages).
"""

from __future__ import annotations

import msgspec

from app.audit import log as audit
from app.canned import store
from app.canned.store import CannedChanges, CannedRow
from app.canned.variables import variables_for
from app.conversations import service as conversations
from app.conversations.store import RoomRow
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.domain.enums import EventType
from app.domain.errors import InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import (
    CannedRenderOut,
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponseUpdate,
)
from app.domain.timefmt import fmt, now
from app.domain.variables import fill
from app.people import agent_store

_NOT_FOUND = ("canned_response_not_found", "canned response")
SCOPES = ("all", "personal", "shared")
LOOKUP_LIMIT = 10
"""How many replies the composer's list shows as the agent types."""


def canned_out(row: CannedRow) -> CannedResponseOut:
    return CannedResponseOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        owner_id=str(row.owner_id) if row.owner_id else None,
        name=row.name,
        shortcut=row.shortcut,
        text=row.text,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def canned_topic(customer_id: str, canned_id: str) -> str:
    return f"customer_id:{customer_id}:canned_response:{canned_id}"


async def _event(type: EventType, out: CannedResponseOut) -> None:
    """A shared reply concerns every agent; a personal one its owner (and, by the rule
    every event follows, the customer's admins and managers, and its webhooks)."""
    audience = [out.owner_id] if out.owner_id else []
    await record_event(
        out.customer_id, type, out, [canned_topic(out.customer_id, out.id)], audience
    )


def _visible(principal: Principal, row: CannedRow | None) -> CannedRow:
    """The reply if `principal` may use it (shared, or its own); else the 404 a foreign id
    gets."""
    if row is not None and row.owner_id is not None and str(row.owner_id) != principal.agent_id:
        row = None
    return found(row, *_NOT_FOUND)


def _may_change(principal: Principal, row: CannedRow) -> None:
    if row.owner_id is None:
        require_admin(principal)


def _owner(principal: Principal, data: CannedResponseCreate) -> str | None:
    if data.owner_id is msgspec.UNSET:
        return principal.agent_id
    if data.owner_id is None:
        require_admin(principal)
        return None
    if data.owner_id.lower() != principal.agent_id:
        raise InvalidInput(
            "invalid_owner",
            "owner_id is your own id (a personal reply) or null (a shared one, admins only).",
            fields=[{"field": "owner_id", "message": "must be your own id or null"}],
        )
    return principal.agent_id


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n")


def _not_blank(field: str, value: str | None) -> None:
    if value is not None and not value.strip():
        raise InvalidInput(
            f"invalid_{field}",
            f"A canned reply needs a {field}.",
            fields=[{"field": field, "message": "must not be blank"}],
        )


async def _audit(
    principal: Principal,
    verb: str,
    before: CannedResponseOut | None,
    after: CannedResponseOut | None,
) -> None:
    target = after or before
    assert target is not None
    if target.owner_id is None:
        await audit.record(
            principal.customer_id,
            principal,
            f"canned_response.{verb}",
            "canned_response",
            target.id,
            before,
            after,
        )


# --- the service ---------------------------------------------------------------------------


async def create(principal: Principal, data: CannedResponseCreate) -> CannedResponseOut:
    _not_blank("text", data.text)
    owner = _owner(principal, data)
    async with transaction():
        row = await store.insert(
            principal.customer_id,
            owner,
            name=data.name.strip(),
            shortcut=data.shortcut.lower(),
            text=_clean_text(data.text),
        )
        out = canned_out(row)
        await _audit(principal, "created", None, out)
        await _event(EventType.CANNED_RESPONSE_CREATED, out)
    return out


async def get(principal: Principal, canned_id: str) -> CannedResponseOut:
    canned_id = parse_id(canned_id, *_NOT_FOUND)
    return canned_out(_visible(principal, await store.live(principal.customer_id, canned_id)))


async def list_page(
    principal: Principal,
    *,
    q: str = "",
    scope: str = "all",
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[CannedResponseOut], str]:
    """The replies the agent may use (its own and the shared ones, or one `scope`), whose
    shortcut or name starts with `q` (case-insensitive); newest first."""
    if scope not in SCOPES:
        raise InvalidInput("invalid_scope", "scope is all, personal or shared.")
    rows, token = await store.page(
        principal.customer_id,
        principal.agent_id,
        scope=scope,
        q=q.strip().lstrip("/")[:255],
        page_size=page_size,
        page_token=page_token,
    )
    return [canned_out(r) for r in rows], token


async def update(
    principal: Principal, canned_id: str, data: CannedResponseUpdate
) -> CannedResponseOut:
    _not_blank("text", data.text)
    canned_id = parse_id(canned_id, *_NOT_FOUND)
    async with transaction():
        row = _visible(principal, await store.locked(principal.customer_id, canned_id))
        _may_change(principal, row)
        changes = CannedChanges(
            name=msgspec.UNSET if data.name is None else data.name.strip(),
            shortcut=msgspec.UNSET if data.shortcut is None else data.shortcut.lower(),
            text=msgspec.UNSET if data.text is None else _clean_text(data.text),
        )
        before = canned_out(row)
        if all(
            getattr(changes, f) in (msgspec.UNSET, getattr(row, f))
            for f in changes.__struct_fields__
        ):
            return before  # nothing changes: no event, no entry, the update time stays
        after = canned_out(await store.update(row.id, changes, now()))
        await _audit(principal, "updated", before, after)
        await _event(EventType.CANNED_RESPONSE_UPDATED, after)
    return after


async def delete(principal: Principal, canned_id: str) -> CannedResponseOut:
    canned_id = parse_id(canned_id, *_NOT_FOUND)
    async with transaction():
        row = _visible(principal, await store.locked(principal.customer_id, canned_id))
        _may_change(principal, row)
        before = canned_out(row)
        out = canned_out(await store.soft_delete(row.id, now()))
        await _audit(principal, "deleted", before, None)
        await _event(EventType.CANNED_RESPONSE_DELETED, out)
    return out


# --- filling the variables -------------------------------------------------------------------


async def _agent_name(principal: Principal) -> str:
    """The agent's name as variables show it (plain SQL: the lookup runs on every key)."""
    names = await agent_store.names(principal.customer_id, [principal.agent_id])
    return names.get(principal.agent_id, principal.username)


async def render(principal: Principal, canned_id: str, conversation_id: str) -> CannedRenderOut:
    """The reply's text filled for the room (one the principal may see) and the principal
    as the agent: plain text, unknown variables as written."""
    reply = await get(principal, canned_id)
    room = await conversations.get_room(principal, conversation_id)
    values = await variables_for(room, await _agent_name(principal))
    return CannedRenderOut(text=fill(reply.text, values), variables=values)


class Suggestion(msgspec.Struct, kw_only=True):
    """One entry of the composer's list: the reply, and its text filled for the room."""

    reply: CannedResponseOut
    filled: str
    values: dict[str, str]


async def lookup(principal: Principal, q: str, room: RoomRow | None) -> list[Suggestion]:
    """The composer's list as the agent types `/q` in `room` (None: nothing to fill from,
    variables stay as written)."""
    rows = await store.lookup(
        principal.customer_id, principal.agent_id, q.strip().lstrip("/")[:64], LOOKUP_LIMIT
    )
    if not rows:
        return []
    values = await variables_for(room, await _agent_name(principal)) if room is not None else {}
    return [
        Suggestion(
            reply=canned_out(r), filled=fill(r.text, values) if values else r.text, values=values
        )
        for r in rows
    ]
