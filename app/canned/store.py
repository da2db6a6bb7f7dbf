"""The `canned_responses` table's SQL, as typed rows.

Piccolo's query builder for the admin's and the API's changes and lists; plain SQL for
the composer's lookup, which runs on every key an agent types after `/`
(bench/canned.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from piccolo.columns import Column
from piccolo.columns.combination import Combinable

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import CannedResponse
from app.domain.errors import Conflict


class CannedRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    owner_id: UUID | None
    name: str
    shortcut: str
    text: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class CannedChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    shortcut: str | msgspec.UnsetType = msgspec.UNSET
    text: str | msgspec.UnsetType = msgspec.UNSET


SHORTCUT_TAKEN = Conflict(
    "shortcut_taken",
    "That shortcut is already used by another canned reply of the same scope (yours, or"
    " the shared ones).",
)


def like_prefix(q: str) -> str:
    """A LIKE pattern for "starts with `q`" (its own % _ \\ taken literally)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def insert(
    customer_id: str, owner_id: str | None, *, name: str, shortcut: str, text: str
) -> CannedRow:
    try:
        return await typed.inserted(
            CannedRow,
            CannedResponse(
                customer_id=customer_id, owner_id=owner_id, name=name, shortcut=shortcut, text=text
            ),
        )
    except asyncpg.UniqueViolationError:
        raise SHORTCUT_TAKEN from None


async def live(customer_id: str, canned_id: str) -> CannedRow | None:
    return await typed.live(CannedResponse, CannedRow, customer_id, canned_id)


async def locked(customer_id: str, canned_id: str) -> CannedRow | None:
    """The live reply, its row locked until the transaction ends (two edits of one reply
    serialize, so each event carries the state it made)."""
    return await sql.fetchrow_as(
        CannedRow,
        f"SELECT {', '.join(CannedRow.__struct_fields__)} FROM canned_responses"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL FOR UPDATE",
        canned_id,
        customer_id,
    )


async def page(
    customer_id: str,
    agent_id: str,
    *,
    scope: str,
    q: str,
    page_size: int,
    page_token: str | None,
) -> tuple[list[CannedRow], str]:
    """The replies `agent_id` may use (its own and the shared ones; `scope` `personal` or
    `shared` narrows it), whose shortcut or name starts with `q`; newest first."""
    t = CannedResponse
    where: list[Combinable] = [t.customer_id == customer_id, t.tm_delete.is_null()]
    if scope == "personal":
        where.append(t.owner_id == agent_id)
    elif scope == "shared":
        where.append(t.owner_id.is_null())
    else:
        where.append(t.owner_id.is_null() | (t.owner_id == agent_id))
    if q:
        pattern = like_prefix(q.lower())
        where.append(t.shortcut.like(pattern) | t.name.ilike(pattern))
    return await keyset_page_as(CannedRow, t, where, page_size, page_token)


async def lookup(customer_id: str, agent_id: str, q: str, limit: int) -> list[CannedRow]:
    """The composer's list as the agent types `/q`: its own and the shared replies whose
    shortcut (or name) starts with `q`; shortcut matches first (the exact one first of
    all), then the agent's own before shared ones, then by shortcut.

    Plain SQL, one branch per way to match, each taking its first `limit` rows from its own
    index in order (bench/canned.py): the agent's shortcuts, the shared shortcuts, then
    (only when something was typed) the agent's and the shared names that a shortcut match
    did not already find."""
    q = q.lower()
    columns = ", ".join(CannedRow.__struct_fields__)
    branch = (
        "(SELECT {c}, {rank} AS rank FROM canned_responses WHERE {where} AND tm_delete IS NULL"
        " ORDER BY {order} LIMIT $4)"
    )
    branches = [
        branch.format(
            c=columns,
            rank=0,
            where='owner_id = $2 AND customer_id = $1 AND shortcut COLLATE "C" LIKE $3',
            order='shortcut COLLATE "C"',
        ),
        branch.format(
            c=columns,
            rank=1,
            where='customer_id = $1 AND owner_id IS NULL AND shortcut COLLATE "C" LIKE $3',
            order='shortcut COLLATE "C"',
        ),
    ]
    if q:
        name = 'lower(name) COLLATE "C" LIKE $3 AND shortcut COLLATE "C" NOT LIKE $3'
        branches += [
            branch.format(
                c=columns,
                rank=2,
                where=f"owner_id = $2 AND customer_id = $1 AND {name}",
                order='lower(name) COLLATE "C"',
            ),
            branch.format(
                c=columns,
                rank=3,
                where=f"customer_id = $1 AND owner_id IS NULL AND {name}",
                order='lower(name) COLLATE "C"',
            ),
        ]
    return await sql.fetch_as(
        CannedRow,
        f"SELECT {columns} FROM ({' UNION ALL '.join(branches)}) AS found"
        ' ORDER BY rank >= 2, shortcut <> $5, rank, shortcut COLLATE "C" LIMIT $4',
        customer_id,
        agent_id,
        like_prefix(q),
        limit,
        q,
    )


async def update(canned_id: UUID, changes: CannedChanges, at: datetime) -> CannedRow:
    values = {**typed.values(CannedResponse, changes), CannedResponse.tm_update: at}
    try:
        return await typed.updated(CannedResponse, CannedRow, canned_id, values)
    except asyncpg.UniqueViolationError:
        raise SHORTCUT_TAKEN from None


async def soft_delete(canned_id: UUID, at: datetime) -> CannedRow:
    values: dict[Column | str, Any] = {CannedResponse.tm_delete: at, CannedResponse.tm_update: at}
    return await typed.updated(CannedResponse, CannedRow, canned_id, values)
