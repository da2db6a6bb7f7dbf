"""The contacts tables' SQL (`contacts`, `contact_addresses`, `contact_words`, `tags`,
`contact_tags`, and `participants.contact_id`), as typed rows.

Plain SQL on asyncpg: the inbound path looks an address up here for every new
participant (`holder_of`), and the search walks `contact_words` in index order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from app.core.pagination import keyset_page_as
from app.db import sql
from app.db.tables import Contact, Tag

Id = uuid.UUID | str


class ContactRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    first_name: str
    last_name: str
    display_name: str
    company: str
    job_title: str
    source: str
    external_id: str
    notes: str
    attributes: str
    """JSON text (jsonb as the driver hands it back)."""
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class AddressRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    contact_id: uuid.UUID
    type: str
    target: str
    name: str
    detail: str
    is_primary: bool
    tm_create: datetime
    tm_update: datetime


class TagRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    detail: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


_CONTACT = ", ".join(
    f"{f}::text AS {f}" if f == "attributes" else f for f in ContactRow.__struct_fields__
)
_ADDRESS = ", ".join(AddressRow.__struct_fields__)
_TAG = ", ".join(TagRow.__struct_fields__)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "company",
    "job_title",
    "source",
    "external_id",
    "notes",
    "attributes",
)


# --- contacts ---------------------------------------------------------------------------


async def insert_contact(customer_id: Id, values: dict[str, Any], at: datetime) -> ContactRow:
    """`values`: CONTACT_FIELDS (missing ones take their defaults)."""
    fields = [f for f in CONTACT_FIELDS if f in values]
    args = [_arg(f, values[f]) for f in fields]
    placeholders = ", ".join(
        f"${i + 5}::jsonb" if f == "attributes" else f"${i + 5}" for i, f in enumerate(fields)
    )
    return await sql.returned(
        ContactRow,
        f"INSERT INTO contacts (id, customer_id, tm_create, tm_update"
        f"{''.join(', ' + f for f in fields)}) VALUES ($1, $2, $3, $4"
        f"{', ' + placeholders if fields else ''}) RETURNING {_CONTACT}",
        uuid.uuid4(),
        customer_id,
        at,
        at,
        *args,
    )


def _arg(field: str, value: Any) -> Any:
    return msgspec.json.encode(value).decode() if field == "attributes" else value


async def live(customer_id: str, contact_id: Id, *, lock: bool = False) -> ContactRow | None:
    return await sql.fetchrow_as(
        ContactRow,
        f"SELECT {_CONTACT} FROM contacts WHERE id = $1 AND customer_id = $2"
        f" AND tm_delete IS NULL{' FOR UPDATE' if lock else ''}",
        contact_id,
        customer_id,
    )


async def lock_pair(customer_id: str, a: Id, b: Id) -> dict[str, ContactRow]:
    """Two live contacts locked in id order (a merge must not deadlock with the opposite
    merge), by id."""
    rows = await sql.fetch_as(
        ContactRow,
        f"SELECT {_CONTACT} FROM contacts WHERE id = ANY($1::uuid[]) AND customer_id = $2"
        " AND tm_delete IS NULL ORDER BY id FOR UPDATE",
        [str(a), str(b)],
        customer_id,
    )
    return {str(r.id): r for r in rows}


async def by_ids(customer_id: str, ids: Sequence[Id]) -> list[ContactRow]:
    """Live contacts, in the order of `ids`."""
    if not ids:
        return []
    rows = await sql.fetch_as(
        ContactRow,
        f"SELECT {_CONTACT} FROM contacts WHERE id = ANY($1::uuid[]) AND customer_id = $2"
        " AND tm_delete IS NULL",
        [str(i) for i in ids],
        customer_id,
    )
    found = {str(r.id): r for r in rows}
    return [found[str(i)] for i in ids if str(i) in found]


async def update_contact(contact_id: Id, values: dict[str, Any], at: datetime) -> ContactRow:
    fields = [f for f in CONTACT_FIELDS if f in values]
    sets = ", ".join(
        f"{f} = ${i + 3}::jsonb" if f == "attributes" else f"{f} = ${i + 3}"
        for i, f in enumerate(fields)
    )
    return await sql.returned(
        ContactRow,
        f"UPDATE contacts SET tm_update = $2{', ' + sets if sets else ''} WHERE id = $1"
        f" RETURNING {_CONTACT}",
        contact_id,
        at,
        *[_arg(f, values[f]) for f in fields],
    )


async def soft_delete(contact_id: Id, at: datetime) -> ContactRow:
    """The contact is gone: its addresses are free for another contact, its tags and
    search words go; the row stays for the history (and the deletion's event)."""
    for table in ("contact_addresses", "contact_tags", "contact_words"):
        await sql.execute(f"DELETE FROM {table} WHERE contact_id = $1", contact_id)
    return await sql.returned(
        ContactRow,
        f"UPDATE contacts SET tm_delete = $2, tm_update = $2 WHERE id = $1 RETURNING {_CONTACT}",
        contact_id,
        at,
    )


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[ContactRow], str]:
    """The customer's live contacts, newest first."""
    live = [Contact.customer_id == customer_id, Contact.tm_delete.is_null()]
    return await keyset_page_as(ContactRow, Contact, live, page_size, page_token)


# --- addresses --------------------------------------------------------------------------


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    contact_id: uuid.UUID
    address_id: uuid.UUID
    display_name: str
    named: bool
    """Whether the contact has a first or last name (then its display name is kept as
    it is, whatever a channel calls the person)."""


async def holder_of(customer_id: Id, type: str, target: str) -> Holder | None:
    """The contact an address belongs to: one lookup on the unique index (the inbound
    path's only contact query when the address is known), and the contact's row by its
    primary key."""
    record = await sql.fetchrow(
        "SELECT a.contact_id, a.id, c.display_name, (c.first_name <> '' OR c.last_name <> '')"
        " FROM contact_addresses a JOIN contacts c ON c.id = a.contact_id"
        " WHERE a.customer_id = $1 AND a.type = $2 AND a.target = $3",
        customer_id,
        type,
        target,
    )
    if record is None:
        return None
    return Holder(
        contact_id=record[0], address_id=record[1], display_name=record[2], named=record[3]
    )


async def forget_contact(contact_id: Id) -> None:
    """A contact made in this transaction that lost the race for its address."""
    await sql.execute("DELETE FROM contacts WHERE id = $1", contact_id)


async def addresses(contact_ids: Sequence[Id]) -> dict[str, list[AddressRow]]:
    """Each contact's addresses, in the order they were added."""
    found: dict[str, list[AddressRow]] = {str(c): [] for c in contact_ids}
    if contact_ids:
        for row in await sql.fetch_as(
            AddressRow,
            f"SELECT {_ADDRESS} FROM contact_addresses WHERE contact_id = ANY($1::uuid[])"
            " ORDER BY tm_create, id",
            [str(c) for c in contact_ids],
        ):
            found[str(row.contact_id)].append(row)
    return found


async def insert_address(
    customer_id: Id,
    contact_id: Id,
    *,
    type: str,
    target: str,
    name: str = "",
    detail: str = "",
    is_primary: bool = False,
    at: datetime,
) -> AddressRow | None:
    """None when another contact holds the address already (the unique index)."""
    return await sql.fetchrow_as(
        AddressRow,
        "INSERT INTO contact_addresses (id, customer_id, contact_id, type, target, name, detail,"
        " is_primary, tm_create, tm_update) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
        f" ON CONFLICT (customer_id, type, target) DO NOTHING RETURNING {_ADDRESS}",
        uuid.uuid4(),
        customer_id,
        contact_id,
        type,
        target,
        name,
        detail,
        is_primary,
        at,
    )


async def address_of(contact_id: Id, address_id: Id) -> AddressRow | None:
    return await sql.fetchrow_as(
        AddressRow,
        f"SELECT {_ADDRESS} FROM contact_addresses WHERE id = $1 AND contact_id = $2",
        address_id,
        contact_id,
    )


async def update_address(address_id: Id, values: dict[str, Any], at: datetime) -> AddressRow:
    """asyncpg.UniqueViolationError when the new (type, target) is another contact's."""
    fields = [f for f in ("type", "target", "name", "detail", "is_primary") if f in values]
    sets = "".join(f", {f} = ${i + 3}" for i, f in enumerate(fields))
    return await sql.returned(
        AddressRow,
        f"UPDATE contact_addresses SET tm_update = $2{sets} WHERE id = $1 RETURNING {_ADDRESS}",
        address_id,
        at,
        *[values[f] for f in fields],
    )


async def delete_address(address_id: Id) -> None:
    await sql.execute("DELETE FROM contact_addresses WHERE id = $1", address_id)


async def only_primary(contact_id: Id, type: str, address_id: Id) -> None:
    """`address_id` is the contact's primary address of its type: the others are not."""
    await sql.execute(
        "UPDATE contact_addresses SET is_primary = false WHERE contact_id = $1 AND type = $2"
        " AND id <> $3 AND is_primary",
        contact_id,
        type,
        address_id,
    )


# --- search -----------------------------------------------------------------------------


async def set_words(customer_id: Id, contact_id: Id, words: Sequence[str]) -> None:
    """What the search matches for this contact, replacing what it matched before."""
    await sql.execute("DELETE FROM contact_words WHERE contact_id = $1", contact_id)
    await sql.execute(
        "INSERT INTO contact_words (customer_id, contact_id, word)"
        " SELECT $1, $2, w FROM unnest($3::text[]) AS w ON CONFLICT DO NOTHING",
        customer_id,
        contact_id,
        list(words),
    )


class Match(msgspec.Struct, frozen=True):
    word: str
    contact_id: uuid.UUID


async def search(
    customer_id: str, low: str, high: str | None, after: tuple[str, str] | None, limit: int
) -> list[Match]:
    """Contacts with a word in [low, high) — every word that starts with `low` in the C
    collation — in (word, id) order, each contact once, at its first matching word.
    A walk of `contact_words_search` that stops after `limit` contacts; the NOT EXISTS is
    one probe of `contact_words_one` per candidate."""
    return await sql.fetch_as(
        Match,
        "SELECT w.word, w.contact_id FROM contact_words w"
        " WHERE w.customer_id = $1 AND w.word >= $2 AND ($3::text IS NULL OR w.word < $3)"
        " AND ($4::text IS NULL OR (w.word, w.contact_id) > ($4, $5::uuid))"
        " AND NOT EXISTS (SELECT 1 FROM contact_words x WHERE x.contact_id = w.contact_id"
        "   AND x.word >= $2 AND x.word < w.word)"
        " ORDER BY w.word, w.contact_id LIMIT $6",
        customer_id,
        low,
        high,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


# --- tags on contacts -------------------------------------------------------------------


async def tag_ids(contact_ids: Sequence[Id]) -> dict[str, list[str]]:
    """Each contact's live tags, in the order they were added."""
    found: dict[str, list[str]] = {str(c): [] for c in contact_ids}
    if contact_ids:
        for r in await sql.fetch(
            "SELECT ct.contact_id, ct.tag_id FROM contact_tags ct"
            " JOIN tags t ON t.id = ct.tag_id AND t.tm_delete IS NULL"
            " WHERE ct.contact_id = ANY($1::uuid[]) ORDER BY ct.id",
            [str(c) for c in contact_ids],
        ):
            found[str(r["contact_id"])].append(str(r["tag_id"]))
    return found


async def add_tag(customer_id: Id, contact_id: Id, tag_id: Id) -> bool:
    """Whether it was new."""
    done = await sql.execute(
        "INSERT INTO contact_tags (customer_id, contact_id, tag_id, tm_create)"
        " VALUES ($1, $2, $3, now()) ON CONFLICT (contact_id, tag_id) DO NOTHING",
        customer_id,
        contact_id,
        tag_id,
    )
    return done.endswith(" 1")


async def remove_tag(contact_id: Id, tag_id: Id) -> bool:
    done = await sql.execute(
        "DELETE FROM contact_tags WHERE contact_id = $1 AND tag_id = $2", contact_id, tag_id
    )
    return done != "DELETE 0"


async def contacts_with_tag(tag_id: Id) -> list[str]:
    rows = await sql.fetch(
        "SELECT contact_id FROM contact_tags WHERE tag_id = $1 ORDER BY contact_id", tag_id
    )
    return [str(r[0]) for r in rows]


# --- merge and participants -------------------------------------------------------------


async def move_addresses(into: Id, other: Id) -> None:
    """`other`'s addresses become `into`'s; a primary of a type `into` has a primary of
    already stops being primary (the survivor's choice wins)."""
    await sql.execute(
        "UPDATE contact_addresses a SET contact_id = $1, is_primary = a.is_primary AND NOT EXISTS"
        " (SELECT 1 FROM contact_addresses p WHERE p.contact_id = $1 AND p.type = a.type"
        "  AND p.is_primary) WHERE a.contact_id = $2",
        into,
        other,
    )


async def move_tags(customer_id: Id, into: Id, other: Id) -> None:
    await sql.execute(
        "INSERT INTO contact_tags (customer_id, contact_id, tag_id, tm_create)"
        " SELECT $1, $2, tag_id, tm_create FROM contact_tags WHERE contact_id = $3 ORDER BY id"
        " ON CONFLICT (contact_id, tag_id) DO NOTHING",
        customer_id,
        into,
        other,
    )


async def relink_participants(customer_id: Id, other: Id, into: Id | None) -> list[str]:
    """Participants that were `other` become `into` (None: nobody). Returns their live
    rooms' ids."""
    rows = await sql.fetch(
        "WITH moved AS (UPDATE participants SET contact_id = $3 WHERE contact_id = $2"
        " AND customer_id = $1 RETURNING conversation_id)"
        " SELECT DISTINCT m.conversation_id FROM moved m JOIN conversations c"
        " ON c.id = m.conversation_id AND c.tm_delete IS NULL ORDER BY 1",
        customer_id,
        other,
        into,
    )
    return [str(r[0]) for r in rows]


async def link_participant(participant_id: Id, contact_id: Id) -> None:
    await sql.execute(
        "UPDATE participants SET contact_id = $2 WHERE id = $1", participant_id, contact_id
    )


async def link_address_participants(
    customer_id: Id, type: str, target: str, contact_id: Id
) -> list[str]:
    """Live participants at this address that no contact holds become `contact_id`'s (an
    address added to a contact claims the rooms it already wrote in). Returns the rooms."""
    rows = await sql.fetch(
        "WITH linked AS (UPDATE participants SET contact_id = $4 WHERE customer_id = $1"
        " AND type = $2 AND target = $3 AND contact_id IS NULL AND tm_delete IS NULL"
        " RETURNING conversation_id)"
        " SELECT DISTINCT l.conversation_id FROM linked l JOIN conversations c"
        " ON c.id = l.conversation_id AND c.tm_delete IS NULL ORDER BY 1",
        customer_id,
        type,
        target,
        contact_id,
    )
    return [str(r[0]) for r in rows]


# --- tags -------------------------------------------------------------------------------


async def insert_tag(customer_id: Id, name: str, detail: str, at: datetime) -> TagRow:
    """asyncpg.UniqueViolationError when a live tag has that name (any case)."""
    return await sql.returned(
        TagRow,
        "INSERT INTO tags (id, customer_id, name, detail, tm_create, tm_update)"
        f" VALUES ($1, $2, $3, $4, $5, $5) RETURNING {_TAG}",
        uuid.uuid4(),
        customer_id,
        name,
        detail,
        at,
    )


async def live_tag(customer_id: str, tag_id: Id, *, lock: bool = False) -> TagRow | None:
    return await sql.fetchrow_as(
        TagRow,
        f"SELECT {_TAG} FROM tags WHERE id = $1 AND customer_id = $2 AND tm_delete IS NULL"
        f"{' FOR UPDATE' if lock else ''}",
        tag_id,
        customer_id,
    )


async def tag_named(customer_id: str, name: str) -> TagRow | None:
    return await sql.fetchrow_as(
        TagRow,
        f"SELECT {_TAG} FROM tags WHERE customer_id = $1 AND lower(name) = lower($2)"
        " AND tm_delete IS NULL",
        customer_id,
        name,
    )


async def update_tag(tag_id: Id, name: str, detail: str, at: datetime) -> TagRow:
    return await sql.returned(
        TagRow,
        f"UPDATE tags SET name = $2, detail = $3, tm_update = $4 WHERE id = $1 RETURNING {_TAG}",
        tag_id,
        name,
        detail,
        at,
    )


async def soft_delete_tag(tag_id: Id, at: datetime) -> TagRow:
    await sql.execute("DELETE FROM contact_tags WHERE tag_id = $1", tag_id)
    return await sql.returned(
        TagRow,
        f"UPDATE tags SET tm_delete = $2, tm_update = $2 WHERE id = $1 RETURNING {_TAG}",
        tag_id,
        at,
    )


async def tag_page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[TagRow], str]:
    live = [Tag.customer_id == customer_id, Tag.tm_delete.is_null()]
    return await keyset_page_as(TagRow, Tag, live, page_size, page_token)


async def live_tag_ids(customer_id: str, tag_ids: Sequence[str]) -> set[str]:
    if not tag_ids:
        return set()
    rows = await sql.fetch(
        "SELECT id FROM tags WHERE customer_id = $1 AND id = ANY($2::uuid[]) AND tm_delete IS NULL",
        customer_id,
        list(tag_ids),
    )
    return {str(r[0]) for r in rows}


async def retag_rooms(customer_id: str, old: str, new: str | None) -> list[str]:
    """Rooms tagged `old` (by name, as rooms keep tags) get `new` in its place, or lose
    it (None); a room that has both keeps one. Returns the changed live rooms' ids, locked
    by the UPDATE until the transaction ends."""
    rows = await sql.fetch(
        "UPDATE conversations SET tm_update = now(), tags = coalesce((SELECT array_agg(t"
        " ORDER BY n) FROM (SELECT DISTINCT ON (t) t, n FROM unnest(CASE WHEN $3::text IS NULL"
        " THEN array_remove(tags, $2) ELSE array_replace(tags, $2, $3) END)"
        " WITH ORDINALITY AS u(t, n) ORDER BY t, n) AS kept), ARRAY[]::text[])"
        " WHERE customer_id = $1 AND tags @> ARRAY[$2]::text[] AND tm_delete IS NULL"
        " RETURNING id",
        customer_id,
        old,
        new,
    )
    return sorted(str(r[0]) for r in rows)
