"""Reading the audit log: admins only, newest first, in keyset pages, with filters. The
entries themselves are written where the changes are made (`audit.log.record`)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from app.audit import store
from app.audit.store import AuditFilter, AuditRow
from app.domain.enums import ActorType
from app.domain.errors import BadRequest
from app.domain.principal import Principal, require_admin
from app.domain.resources import AuditEntryOut
from app.domain.timefmt import fmt, time_parameter

ACTOR_TYPES = [a.value for a in ActorType]
ACTION_MAX = 64
TARGET_TYPE_MAX = 32
TARGET_ID_MAX = 255


def _object(text: str) -> dict[str, Any]:
    value = msgspec.json.decode(text) if text else {}
    # `record` stores the target's resource (an object); anything else is shown as its value
    return value if isinstance(value, dict) else {"value": value}


def entry_out(row: AuditRow) -> AuditEntryOut:
    return AuditEntryOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        actor_type=row.actor_type,
        actor_id=str(row.actor_id) if row.actor_id else None,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=_object(row.before),
        after=_object(row.after),
        tm_create=fmt(row.tm_create),
    )


def _text(name: str, value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise BadRequest("invalid_parameter", f"{name} can be at most {limit} characters.")
    return value or None


def audit_filter(
    *,
    actor_id: str | None = None,
    actor_type: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> AuditFilter:
    """The filters as the API and the desk take them (text), checked: a malformed actor
    id or time is a 400 naming the parameter."""
    actor = (actor_id or "").strip() or None
    if actor is not None:
        try:
            actor = str(uuid.UUID(actor))
        except ValueError:
            raise BadRequest("invalid_parameter", "actor_id must be an agent's id.") from None
    kind = (actor_type or "").strip() or None
    if kind is not None and kind not in ACTOR_TYPES:
        raise BadRequest(
            "invalid_parameter", "actor_type must be one of " + ", ".join(ACTOR_TYPES) + "."
        )
    return AuditFilter(
        actor_id=actor,
        actor_type=kind,
        action=_text("action", action, ACTION_MAX),
        target_type=_text("target_type", target_type, TARGET_TYPE_MAX),
        target_id=_text("target_id", target_id, TARGET_ID_MAX),
        since=time_parameter("from", since),
        until=time_parameter("to", until),
    )


async def list_entries(
    principal: Principal,
    f: AuditFilter,
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[AuditEntryOut], str]:
    require_admin(principal)
    rows, token = await store.page(principal.customer_id, f, page_size, page_token)
    return [entry_out(r) for r in rows], token
