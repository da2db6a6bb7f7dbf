"""Inbound messages find their contact by address, or make one (`source: sync`), in the
room's transaction (conversations.messages._place calls `resolve` under its address
locks, so two first messages from a new address make one contact).

The cost on the inbound path is one indexed lookup (`contact_addresses_one`) per message:
a known address needs nothing else. One person on several channels is one contact only
when an address links them: an address added to a contact (by an agent, or declared by the
sender, like the email address a web chat visitor leaves) makes the next message from it
find that contact. Two contacts are never merged by the inbound path; an agent merges.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from app.contacts import shapes, store
from app.domain.enums import ContactSource, EventType
from app.domain.participants import is_visitor_label
from app.domain.timefmt import now

Address = tuple[str, str]
"""(participant type, normalised target)."""


class Resolved(msgspec.Struct, frozen=True, kw_only=True):
    sender: uuid.UUID
    """The sender's contact."""
    identities: list[uuid.UUID]
    """Each declared identity's contact, in the order given."""


async def resolve(
    customer_id: str, sender: Address, identities: Sequence[Address], *, name: str, label: str
) -> Resolved:
    """The contacts of an inbound message's sender and of the other addresses it declares.
    A new sender address joins the contact of one of its declared addresses if there is
    one, else a new contact (named `name`, else `label`); declared addresses no contact
    holds join the sender's. A contact known only by a visitor label takes the `name`
    the sender now gives."""
    held = await store.holder_of(customer_id, *sender)
    if held is not None and not identities:
        if (
            name
            and not held.named
            and (not held.display_name or is_visitor_label(held.display_name))
        ):
            await _rename(customer_id, held.contact_id, name)
        return Resolved(sender=held.contact_id, identities=[])
    others = [await store.holder_of(customer_id, *a) for a in identities]
    changed: set[uuid.UUID] = set()
    if held is not None:
        contact_id = held.contact_id
        if (
            name
            and not held.named
            and (not held.display_name or is_visitor_label(held.display_name))
        ):
            await _rename(customer_id, contact_id, name, quiet=True)
            changed.add(contact_id)
    else:
        linked = next((o for o in others if o is not None), None)
        if linked is not None:
            contact_id = linked.contact_id
            await _add_address(customer_id, contact_id, sender)
            changed.add(contact_id)
        else:
            contact_id = await _create(customer_id, sender, name or label)
    result = []
    for address, other in zip(identities, others, strict=True):
        if other is None:
            await _add_address(customer_id, contact_id, address)
            changed.add(contact_id)
            result.append(contact_id)
        else:
            result.append(other.contact_id)
    for changed_id in sorted(changed, key=str):
        await _updated(customer_id, changed_id)
    return Resolved(sender=contact_id, identities=result)


async def _create(customer_id: str, address: Address, display_name: str) -> uuid.UUID:
    at = now()
    row = await store.insert_contact(
        customer_id, {"display_name": display_name[:255], "source": ContactSource.SYNC.value}, at
    )
    added = await store.insert_address(
        customer_id, row.id, type=address[0], target=address[1], is_primary=True, at=at
    )
    if added is None:  # pragma: no cover - every writer of addresses holds the address lock
        await store.forget_contact(row.id)
        held = await store.holder_of(customer_id, *address)
        assert held is not None
        return held.contact_id
    await shapes.reindex(row)
    await shapes.contact_event(EventType.CONTACT_CREATED, await shapes.contact_resource(row))
    return row.id


async def _add_address(customer_id: str, contact_id: uuid.UUID, address: Address) -> None:
    found = await store.addresses([contact_id])
    primary = not any(a.type == address[0] and a.is_primary for a in found[str(contact_id)])
    await store.insert_address(
        customer_id, contact_id, type=address[0], target=address[1], is_primary=primary, at=now()
    )


async def _rename(
    customer_id: str, contact_id: uuid.UUID, name: str, *, quiet: bool = False
) -> None:
    await store.update_contact(contact_id, {"display_name": name[:255]}, now())
    if not quiet:
        await _updated(customer_id, contact_id)


async def _updated(customer_id: str, contact_id: uuid.UUID) -> None:
    row = await store.live(customer_id, contact_id)
    if row is None:  # pragma: no cover - found by its address under the address lock
        return
    await shapes.reindex(row)
    await shapes.contact_event(EventType.CONTACT_UPDATED, await shapes.contact_resource(row))
