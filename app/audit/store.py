"""The audit log's SQL, as typed rows: one keyset page of a customer's entries, with
filters. Piccolo's query builder (an admin reads the log now and then: no hot path).
The entries are written by `audit.log.record`, inside the service transaction that made
the change."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from app.core.pagination import keyset_page_as
from app.db.tables import AuditEntry


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: UUID
    actor_type: str
    actor_id: UUID | None
    action: str
    target_type: str
    target_id: str
    before: str
    """JSON text, as Piccolo hands a jsonb column back."""
    after: str
    tm_create: datetime


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Every condition is optional; those given must all hold."""

    actor_id: str | None = None
    actor_type: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    """From this time on (inclusive)."""
    until: datetime | None = None
    """Before this time (exclusive)."""


async def page(
    customer_id: str, f: AuditFilter, page_size: int, page_token: str | None
) -> tuple[list[AuditRow], str]:
    """The customer's entries matching `f`, newest first (index audit_log_pages)."""
    where = [AuditEntry.customer_id == customer_id]
    if f.actor_id is not None:
        where.append(AuditEntry.actor_id == f.actor_id)
    if f.actor_type is not None:
        where.append(AuditEntry.actor_type == f.actor_type)
    if f.action is not None:
        where.append(AuditEntry.action == f.action)
    if f.target_type is not None:
        where.append(AuditEntry.target_type == f.target_type)
    if f.target_id is not None:
        where.append(AuditEntry.target_id == f.target_id)
    if f.since is not None:
        where.append(AuditEntry.tm_create >= f.since)
    if f.until is not None:
        where.append(AuditEntry.tm_create < f.until)
    return await keyset_page_as(AuditRow, AuditEntry, where, page_size, page_token)
