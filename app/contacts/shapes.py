"""The contact and tag resources as the API shows them, and the events that carry them.
Kept apart from `contacts.service` so that the inbound path (`contacts.matching`, which
`conversations.messages` calls) can write contact events without importing the service,
which imports conversations."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.contacts import store
from app.contacts.store import AddressRow, ContactRow, TagRow
from app.contacts.words import search_words
from app.core.events import record_event
from app.domain.enums import EventType
from app.domain.resources import ContactAddressOut, ContactOut, TagOut
from app.domain.timefmt import fmt


def contact_topic(customer_id: str, contact_id: str) -> str:
    return f"customer_id:{customer_id}:contact:{contact_id}"


def tag_topic(customer_id: str, tag_id: str) -> str:
    return f"customer_id:{customer_id}:tag:{tag_id}"


def address_out(row: AddressRow) -> ContactAddressOut:
    return ContactAddressOut(
        id=str(row.id),
        type=row.type,
        target=row.target,
        name=row.name,
        detail=row.detail,
        is_primary=row.is_primary,
    )


def contact_out(row: ContactRow, addresses: list[AddressRow], tag_ids: list[str]) -> ContactOut:
    return ContactOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        first_name=row.first_name,
        last_name=row.last_name,
        display_name=row.display_name,
        company=row.company,
        job_title=row.job_title,
        source=row.source,
        external_id=row.external_id,
        notes=row.notes,
        addresses=[address_out(a) for a in addresses],
        tag_ids=tag_ids,
        attributes=msgspec.json.decode(row.attributes) if row.attributes else {},
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


async def contacts_out(rows: Sequence[ContactRow]) -> list[ContactOut]:
    """Several contacts with their addresses and tags, in three queries."""
    ids = [r.id for r in rows]
    found, tags = await store.addresses(ids), await store.tag_ids(ids)
    return [contact_out(r, found[str(r.id)], tags[str(r.id)]) for r in rows]


async def contact_resource(row: ContactRow) -> ContactOut:
    return (await contacts_out([row]))[0]


async def reindex(row: ContactRow) -> None:
    """The contact's search words follow its names and addresses (after any change)."""
    found = (await store.addresses([row.id]))[str(row.id)]
    words = search_words(
        [row.first_name, row.last_name, f"{row.first_name} {row.last_name}", row.display_name],
        [(a.type, a.target) for a in found],
    )
    await store.set_words(row.customer_id, row.id, words)


async def contact_event(type: EventType, contact: ContactOut) -> None:
    """Every agent of the customer may see contacts, so every agent gets their events."""
    await record_event(
        contact.customer_id, type, contact, [contact_topic(contact.customer_id, contact.id)]
    )


def tag_out(row: TagRow) -> TagOut:
    return TagOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        name=row.name,
        detail=row.detail,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


async def tag_event(type: EventType, tag: TagOut) -> None:
    await record_event(tag.customer_id, type, tag, [tag_topic(tag.customer_id, tag.id)])
