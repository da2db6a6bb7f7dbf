"""The customers table's SQL (the tenants and their webhook settings), as typed rows, with
Piccolo's query builder: nothing here runs per message or per request."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from app.db import typed
from app.db.tables import Customer


class CustomerRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    detail: str
    webhook_method: str
    webhook_uri: str
    webhook_secret: str
    webhook_events: list[str]
    webhook_secret_previous: str
    webhook_secret_rotated_at: datetime | None
    webhook_disabled_at: datetime | None
    webhook_disabled_reason: str
    webhook_event_cursor: int
    events_pruned_through: int
    business_hours_id: UUID | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class CustomerChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    detail: str | msgspec.UnsetType = msgspec.UNSET
    webhook_method: str | msgspec.UnsetType = msgspec.UNSET
    webhook_uri: str | msgspec.UnsetType = msgspec.UNSET
    webhook_events: list[str] | msgspec.UnsetType = msgspec.UNSET
    webhook_secret: str | msgspec.UnsetType = msgspec.UNSET
    webhook_secret_previous: str | msgspec.UnsetType = msgspec.UNSET
    webhook_secret_rotated_at: datetime | msgspec.UnsetType = msgspec.UNSET
    webhook_disabled_at: datetime | None | msgspec.UnsetType = msgspec.UNSET
    webhook_disabled_reason: str | msgspec.UnsetType = msgspec.UNSET
    webhook_event_cursor: int | msgspec.UnsetType = msgspec.UNSET
    business_hours_id: str | None | msgspec.UnsetType = msgspec.UNSET


async def insert(name: str, webhook_secret: str) -> CustomerRow:
    return await typed.inserted(CustomerRow, Customer(name=name, webhook_secret=webhook_secret))


async def live(customer_id: str, *, lock: bool = False) -> CustomerRow | None:
    """The customer, unless deleted; `lock` takes its row lock (in a transaction)."""
    query = Customer.select().where(Customer.id == customer_id, Customer.tm_delete.is_null())
    if lock:
        query = query.lock_rows()
    row = await query.first()
    return None if row is None else typed.as_row(CustomerRow, row)


async def lock(customer_id: str) -> None:
    """Take the customer's row lock until the transaction ends: changes that must see each
    other's result (the last admin) take turns."""
    await Customer.select(Customer.id).where(Customer.id == customer_id).lock_rows()


async def update(customer_id: str, changes: CustomerChanges, at: datetime) -> None:
    await Customer.update({**typed.values(Customer, changes), Customer.tm_update: at}).where(
        Customer.id == customer_id
    )


async def webhook_uri(customer_id: str) -> str:
    """Where the customer's webhooks go ("" when nowhere)."""
    row = await Customer.select(Customer.webhook_uri).where(Customer.id == customer_id).first()
    return row["webhook_uri"] if row else ""
