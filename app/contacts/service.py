"""Contacts: a person reached at several addresses across channels, with attributes,
notes and tags (VoIPBIN's contact). Any agent of the customer reads, creates and edits
contacts (their daily work) and merges two; admins and managers delete them. Every change
records `contact_created` / `contact_updated` / `contact_deleted` / `contact_merged`;
deletions and merges are in the audit log.

An address `(type, target)` names one contact of the customer (a unique index): adding
one another contact holds is a `409 address_taken` naming that contact. Adding an address
claims the rooms where it already takes part (their participants link to the contact),
so the conversations of the address appear under the contact.

Merge (`merge`): the other contact's addresses, tags and rooms (its participants) move to
this one; attributes are combined, this one's winning on conflicts; notes are appended;
names and other fields this one lacks are taken from the other. The other is deleted.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import asyncpg
import msgspec

from app.audit import log as audit
from app.channels import runtime
from app.contacts import shapes, store
from app.contacts.store import ContactRow
from app.contacts.words import prefix_range
from app.conversations import message_store
from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.core.events import transaction
from app.core.ids import found, parse_id
from app.core.pagination import check_page_size
from app.domain.channels import normalize_address
from app.domain.enums import EventType, ParticipantType
from app.domain.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    ContactAddressIn,
    ContactAddressUpdate,
    ContactCreate,
    ContactMergeIn,
    ContactOut,
    ContactUpdate,
    ConversationOut,
)
from app.domain.timefmt import fmt, now

_NO_CONTACT = ("contact_not_found", "contact")
_NO_ADDRESS = ("address_not_found", "address")


def _region() -> str:
    return runtime.settings().default_region


def _normal(type: str, target: str, field: str) -> str:
    try:
        return normalize_address(ParticipantType(type), target, _region())
    except InvalidInput as exc:
        raise InvalidInput(
            "invalid_address", exc.message, fields=[{"field": field, "message": exc.message}]
        ) from None


def _name_of(row: ContactRow) -> str:
    full = f"{row.first_name} {row.last_name}".strip()
    return row.display_name or full or str(row.id)


async def _taken(customer_id: str, type: str, target: str) -> None:
    """409 when another contact holds the address, naming it."""
    held = await store.holder_of(customer_id, type, target)
    if held is None:
        return
    holder = await store.live(customer_id, held.contact_id)
    name = _name_of(holder) if holder else str(held.contact_id)
    raise Conflict(
        "address_taken",
        f"The {type} address {target} belongs to the contact {name!r} ({held.contact_id}):"
        " an address names one contact. Remove it there first, or merge the two contacts.",
    )


async def _claim(customer_id: str, contact_id: uuid.UUID, type: str, target: str) -> None:
    """The address's rooms without a contact link to this one (each room's event)."""
    for room_id in await store.link_address_participants(customer_id, type, target, contact_id):
        await _room_changed(customer_id, room_id)


async def _room_changed(customer_id: str, room_id: str) -> None:
    room = await conversations.room_by_id(customer_id, room_id)
    if room is not None:
        await conversations.room_event(
            EventType.CONVERSATION_UPDATED, await conversations.room_out(room)
        )


async def _add_address(
    customer_id: str, contact_id: uuid.UUID, data: ContactAddressIn, field: str
) -> None:
    target = _normal(data.type.value, data.target, f"{field}.target" if field else "target")
    # the inbound path's lock for this address: a message from it cannot make a contact
    # of its own between the check and the insert
    await message_store.lock_address(customer_id, data.type.value, target)
    await _taken(customer_id, data.type.value, target)
    row = await store.insert_address(
        customer_id,
        contact_id,
        type=data.type.value,
        target=target,
        name=data.name,
        detail=data.detail,
        is_primary=data.is_primary,
        at=now(),
    )
    if row is None:  # pragma: no cover - the lock above makes the check final
        await _taken(customer_id, data.type.value, target)
        return
    if row.is_primary:
        await store.only_primary(contact_id, row.type, row.id)
    await _claim(customer_id, contact_id, row.type, row.target)


async def _checked_tags(customer_id: str, tag_ids: list[str], field: str) -> list[str]:
    ids = list(dict.fromkeys(i.lower() for i in tag_ids))
    known = await store.live_tag_ids(customer_id, ids)
    unknown = [i for i, t in enumerate(ids) if t not in known]
    if unknown:
        raise InvalidInput(
            "unknown_tag",
            f"{field} must name tags of this customer.",
            fields=[{"field": f"{field}[{i}]", "message": "no such tag"} for i in unknown],
        )
    return ids


async def _changed(row: ContactRow, type: EventType = EventType.CONTACT_UPDATED) -> ContactOut:
    await shapes.reindex(row)
    out = await shapes.contact_resource(row)
    await shapes.contact_event(type, out)
    return out


def _fields(data: ContactCreate | ContactUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in store.CONTACT_FIELDS:
        value = getattr(data, name)
        if value is None:
            continue
        values[name] = value.value if name == "source" else value
    return values


# --- the service ----------------------------------------------------------------------------


async def create_contact(principal: Principal, data: ContactCreate) -> ContactOut:
    cid = principal.customer_id
    seen: set[tuple[str, str]] = set()
    for i, a in enumerate(data.addresses):
        key = (a.type.value, _normal(a.type.value, a.target, f"addresses[{i}].target"))
        if key in seen:
            raise InvalidInput(
                "duplicate_address",
                f"The address {key[1]} is listed twice.",
                fields=[{"field": f"addresses[{i}]", "message": "listed twice"}],
            )
        seen.add(key)
    async with transaction():
        tag_ids = await _checked_tags(cid, data.tag_ids, "tag_ids")
        row = await store.insert_contact(cid, _fields(data), now())
        for i, address in enumerate(data.addresses):
            await _add_address(cid, row.id, address, f"addresses[{i}]")
        for tag_id in tag_ids:
            await store.add_tag(cid, row.id, tag_id)
        out = await _changed(row, EventType.CONTACT_CREATED)
    return out


async def get_contact(principal: Principal, contact_id: str) -> ContactOut:
    contact_id = parse_id(contact_id, *_NO_CONTACT)
    row = found(await store.live(principal.customer_id, contact_id), *_NO_CONTACT)
    return await shapes.contact_resource(row)


async def list_contacts(
    principal: Principal, q: str | None = None, page_size: int = 100, page_token: str | None = None
) -> tuple[list[ContactOut], str]:
    """Newest first; with `q`, the contacts a name word, a whole name or an address of
    starts with `q` (any case), in the order of that word (contacts.words)."""
    check_page_size(page_size)
    span = prefix_range(q) if q else None
    if span is None:
        rows, token = await store.page(principal.customer_id, page_size, page_token)
        return await shapes.contacts_out(rows), token
    matches = await store.search(
        principal.customer_id, span[0], span[1], _search_token(page_token), page_size + 1
    )
    more = len(matches) > page_size
    matches = matches[:page_size]
    rows = await store.by_ids(principal.customer_id, [m.contact_id for m in matches])
    token = ""
    if more:
        last = matches[-1]
        token = base64.urlsafe_b64encode(f"{last.contact_id}:{last.word}".encode()).decode()
    return await shapes.contacts_out(rows), token


def _search_token(token: str | None) -> tuple[str, str] | None:
    """A search page's token: where the walk of the search words stopped (opaque)."""
    if not token:
        return None
    try:
        contact_id, _, word = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return word, str(uuid.UUID(contact_id))
    except ValueError:
        raise BadRequest(
            "invalid_page_token", "page_token must be a next_page_token from an earlier page."
        ) from None


async def update_contact(principal: Principal, contact_id: str, data: ContactUpdate) -> ContactOut:
    contact_id = parse_id(contact_id, *_NO_CONTACT)
    values = _fields(data)
    async with transaction():
        row = found(await store.live(principal.customer_id, contact_id, lock=True), *_NO_CONTACT)
        if not values:
            return await shapes.contact_resource(row)
        row = await store.update_contact(row.id, values, now())
        out = await _changed(row)
    return out


async def delete_contact(principal: Principal, contact_id: str) -> ContactOut:
    """Admins and managers. The contact's rooms stay; their participants no longer name
    it (their rooms' `contact_ids` change: `conversation_updated`)."""
    if not principal.sees_all_conversations:
        raise Forbidden("manager_required", "Only admins and managers may delete contacts.")
    contact_id = parse_id(contact_id, *_NO_CONTACT)
    cid = principal.customer_id
    async with transaction():
        row = found(await store.live(cid, contact_id, lock=True), *_NO_CONTACT)
        before = await shapes.contact_resource(row)
        rooms = await store.relink_participants(cid, row.id, None)
        gone = await store.soft_delete(row.id, now())
        out = msgspec.structs.replace(
            before, tm_update=fmt(gone.tm_update), tm_delete=fmt(gone.tm_delete)
        )
        await audit.record(cid, principal, "contact.deleted", "contact", out.id, before, None)
        await shapes.contact_event(EventType.CONTACT_DELETED, out)
        for room_id in rooms:
            await _room_changed(cid, room_id)
    return out


async def _locked(principal: Principal, contact_id: str) -> ContactRow:
    contact_id = parse_id(contact_id, *_NO_CONTACT)
    return found(await store.live(principal.customer_id, contact_id, lock=True), *_NO_CONTACT)


async def add_address(principal: Principal, contact_id: str, data: ContactAddressIn) -> ContactOut:
    async with transaction():
        row = await _locked(principal, contact_id)
        await _add_address(principal.customer_id, row.id, data, "")
        out = await _changed(await store.update_contact(row.id, {}, now()))
    return out


async def update_address(
    principal: Principal, contact_id: str, address_id: str, data: ContactAddressUpdate
) -> ContactOut:
    address_id = parse_id(address_id, *_NO_ADDRESS)
    cid = principal.customer_id
    async with transaction():
        row = await _locked(principal, contact_id)
        current = found(await store.address_of(row.id, address_id), *_NO_ADDRESS)
        values: dict[str, Any] = {
            k: v for k in ("name", "detail", "is_primary") if (v := getattr(data, k)) is not None
        }
        kind = data.type.value if data.type is not None else current.type
        if data.type is not None or data.target is not None:
            target = _normal(
                kind, data.target if data.target is not None else current.target, "target"
            )
            if (kind, target) != (current.type, current.target):
                await message_store.lock_address(cid, kind, target)
                await _taken(cid, kind, target)
                values |= {"type": kind, "target": target}
        if not values:
            return await shapes.contact_resource(row)
        try:
            address = await store.update_address(current.id, values, now())
        except asyncpg.UniqueViolationError:  # pragma: no cover - the lock makes the check final
            await _taken(cid, kind, values["target"])
            raise
        if address.is_primary:
            await store.only_primary(row.id, address.type, address.id)
        if "target" in values:
            await _claim(cid, row.id, address.type, address.target)
        out = await _changed(await store.update_contact(row.id, {}, now()))
    return out


async def delete_address(principal: Principal, contact_id: str, address_id: str) -> ContactOut:
    """The address is free again; rooms it took part in keep their link to the contact
    (they were this person's)."""
    address_id = parse_id(address_id, *_NO_ADDRESS)
    async with transaction():
        row = await _locked(principal, contact_id)
        current = found(await store.address_of(row.id, address_id), *_NO_ADDRESS)
        await store.delete_address(current.id)
        out = await _changed(await store.update_contact(row.id, {}, now()))
    return out


async def add_tag(principal: Principal, contact_id: str, tag_id: str) -> ContactOut:
    """A tag id in the body that is not the customer's is a 422 naming the field."""
    async with transaction():
        row = await _locked(principal, contact_id)
        (tag,) = await _checked_tags(principal.customer_id, [tag_id], "tag_id")
        if not await store.add_tag(principal.customer_id, row.id, tag):
            return await shapes.contact_resource(row)
        out = await _changed(await store.update_contact(row.id, {}, now()))
    return out


async def remove_tag(principal: Principal, contact_id: str, tag_id: str) -> ContactOut:
    tag_id = parse_id(tag_id, "tag_not_found", "tag")
    async with transaction():
        row = await _locked(principal, contact_id)
        if not await store.remove_tag(row.id, tag_id):
            raise NotFound("tag_not_found", "The contact has no such tag.")
        out = await _changed(await store.update_contact(row.id, {}, now()))
    return out


async def contact_conversations(
    principal: Principal, contact_id: str, page_size: int = 100, page_token: str | None = None
) -> tuple[list[ConversationOut], str]:
    """The rooms where the contact takes part (by any of its addresses, on any channel),
    that the principal may see; newest first."""
    contact_id = parse_id(contact_id, *_NO_CONTACT)
    found(await store.live(principal.customer_id, contact_id), *_NO_CONTACT)
    rooms = conversations.visible(principal, contact_id=contact_id)
    rows, token = await conversations_store.page_by_creation(rooms, page_size, page_token)
    return await conversations.rooms_out(rows), token


async def merge(principal: Principal, contact_id: str, data: ContactMergeIn) -> ContactOut:
    """`data.contact_id` merges into `contact_id` (see the module's note)."""
    into_id = parse_id(contact_id, *_NO_CONTACT)
    other_id = str(uuid.UUID(data.contact_id))
    cid = principal.customer_id
    if other_id == into_id:
        raise InvalidInput(
            "same_contact",
            "A contact cannot be merged into itself.",
            fields=[{"field": "contact_id", "message": "names this contact"}],
        )
    async with transaction():
        rows = await store.lock_pair(cid, into_id, other_id)
        into = found(rows.get(into_id), *_NO_CONTACT)
        other = found(rows.get(other_id), *_NO_CONTACT)
        before = await shapes.contact_resource(into)
        merged_away = await shapes.contact_resource(other)
        await store.move_addresses(into.id, other.id)
        await store.move_tags(cid, into.id, other.id)
        rooms = await store.relink_participants(cid, other.id, into.id)
        values = _merged_fields(into, other)
        gone = await store.soft_delete(other.id, now())
        into = await store.update_contact(into.id, values, now())
        await shapes.reindex(into)
        out = await shapes.contact_resource(into)
        deleted = msgspec.structs.replace(
            merged_away,
            addresses=[],
            tag_ids=[],
            tm_update=fmt(gone.tm_update),
            tm_delete=fmt(gone.tm_delete),
        )
        await audit.record(
            cid,
            principal,
            "contact.merged",
            "contact",
            out.id,
            {"contact": msgspec.to_builtins(before), "merged": msgspec.to_builtins(merged_away)},
            out,
        )
        await shapes.contact_event(EventType.CONTACT_DELETED, deleted)
        await shapes.contact_event(EventType.CONTACT_MERGED, out)
        for room_id in rooms:
            await _room_changed(cid, room_id)
    return out


def _merged_fields(into: ContactRow, other: ContactRow) -> dict[str, Any]:
    """This contact's fields, with the other's where this one has none; attributes
    combined (this one's win); notes appended."""
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name", "display_name", "company", "job_title", "external_id"):
        if not getattr(into, name) and getattr(other, name):
            values[name] = getattr(other, name)
    attributes = {
        **msgspec.json.decode(other.attributes or "{}"),
        **msgspec.json.decode(into.attributes or "{}"),
    }
    values["attributes"] = attributes
    if other.notes.strip():
        values["notes"] = (
            f"{into.notes.rstrip()}\n\n{other.notes.strip()}" if into.notes.strip() else other.notes
        )[:20000]
    return values
