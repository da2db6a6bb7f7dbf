"""Tags as resources: a name (unique per customer, in any case) and a detail, usable on
contacts (`tag_ids`) and on conversations, which keep their tags as names (`tags`).

A conversation's tag is the tag resource of the same name (exactly). So renaming a tag
renames it on every room that has it, and deleting a tag removes it from every room and
contact; each changed room records `conversation_updated`, each contact
`contact_updated`. Rooms may still carry names no tag resource has (the API has always
taken free names): those stay free. Any agent reads tags; admins and managers create,
change and delete them (audit log).
"""

from __future__ import annotations

import asyncpg

from app.audit import log as audit
from app.contacts import shapes, store
from app.contacts.store import TagRow
from app.conversations import service as conversations
from app.core.events import transaction
from app.core.ids import found, parse_id
from app.domain.enums import EventType
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import TagCreate, TagOut, TagUpdate
from app.domain.timefmt import now

_NO_TAG = ("tag_not_found", "tag")


def _may_manage(principal: Principal) -> None:
    if not principal.sees_all_conversations:
        raise Forbidden("manager_required", "Only admins and managers may change tags.")


def _name_taken(name: str) -> Conflict:
    return Conflict("tag_exists", f"A tag named {name!r} exists already (names ignore case).")


async def create_tag(principal: Principal, data: TagCreate) -> TagOut:
    _may_manage(principal)
    cid = principal.customer_id
    name = data.name.strip()
    async with transaction():
        if await store.tag_named(cid, name) is not None:
            raise _name_taken(name)
        try:
            row = await store.insert_tag(cid, name, data.detail, now())
        except asyncpg.UniqueViolationError:  # a parallel create of the same name
            raise _name_taken(name) from None
        out = shapes.tag_out(row)
        await audit.record(cid, principal, "tag.created", "tag", out.id, None, out)
        await shapes.tag_event(EventType.TAG_CREATED, out)
    return out


async def get_tag(principal: Principal, tag_id: str) -> TagOut:
    tag_id = parse_id(tag_id, *_NO_TAG)
    return shapes.tag_out(found(await store.live_tag(principal.customer_id, tag_id), *_NO_TAG))


async def list_tags(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[TagOut], str]:
    rows, token = await store.tag_page(principal.customer_id, page_size, page_token)
    return [shapes.tag_out(r) for r in rows], token


async def _locked(principal: Principal, tag_id: str) -> TagRow:
    tag_id = parse_id(tag_id, *_NO_TAG)
    return found(await store.live_tag(principal.customer_id, tag_id, lock=True), *_NO_TAG)


async def update_tag(principal: Principal, tag_id: str, data: TagUpdate) -> TagOut:
    """A new name renames the tag on every room that has it."""
    _may_manage(principal)
    cid = principal.customer_id
    async with transaction():
        row = await _locked(principal, tag_id)
        name = data.name.strip() if data.name is not None else row.name
        detail = data.detail if data.detail is not None else row.detail
        if (name, detail) == (row.name, row.detail):
            return shapes.tag_out(row)
        if name.lower() != row.name.lower():
            if await store.tag_named(cid, name) is not None:
                raise _name_taken(name)
        before = shapes.tag_out(row)
        try:
            updated = await store.update_tag(row.id, name, detail, now())
        except asyncpg.UniqueViolationError:
            raise _name_taken(name) from None
        out = shapes.tag_out(updated)
        await audit.record(cid, principal, "tag.updated", "tag", out.id, before, out)
        await shapes.tag_event(EventType.TAG_UPDATED, out)
        if name != row.name:
            await _rooms_changed(cid, await store.retag_rooms(cid, row.name, name))
    return out


async def delete_tag(principal: Principal, tag_id: str) -> TagOut:
    """The tag leaves every contact and room that had it."""
    _may_manage(principal)
    cid = principal.customer_id
    async with transaction():
        row = await _locked(principal, tag_id)
        before = shapes.tag_out(row)
        tagged = await store.contacts_with_tag(row.id)
        out = shapes.tag_out(await store.soft_delete_tag(row.id, now()))
        await audit.record(cid, principal, "tag.deleted", "tag", out.id, before, None)
        await shapes.tag_event(EventType.TAG_DELETED, out)
        for contact in await store.by_ids(cid, tagged):
            contact = await store.update_contact(contact.id, {}, now())
            await shapes.contact_event(
                EventType.CONTACT_UPDATED, await shapes.contact_resource(contact)
            )
        await _rooms_changed(cid, await store.retag_rooms(cid, row.name, None))
    return out


async def _rooms_changed(customer_id: str, room_ids: list[str]) -> None:
    for room_id in room_ids:
        room = await conversations.room_by_id(customer_id, room_id)
        if room is not None:
            await conversations.room_event(
                EventType.CONVERSATION_UPDATED, await conversations.room_out(room)
            )
