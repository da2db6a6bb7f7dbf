"""Writing the audit log. `record` joins the caller's service transaction, so an entry
exists exactly when the change it describes was committed."""

from __future__ import annotations

from typing import Any

import msgspec

from app.core.events import connection
from app.domain.enums import ActorType
from app.domain.principal import Principal
from app.domain.timefmt import now


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    type: ActorType
    id: str | None = None


SYSTEM = Actor(type=ActorType.SYSTEM)
"""Routing, timers and other work nobody asked for at that moment."""


def actor_of(principal: Principal) -> Actor:
    """An agent acting through the desk or a token, or through one of its access keys (the
    entry names the agent either way); a rule acting is the system."""
    if principal.is_automation:
        return SYSTEM
    kind = ActorType.ACCESSKEY if principal.via == "accesskey" else ActorType.AGENT
    return Actor(type=kind, id=principal.agent_id)


def _plain(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    return value if value is not None else {}


async def record(
    customer_id: str,
    actor: Actor | Principal,
    action: str,
    target_type: str,
    target_id: Any,
    before: Any = None,
    after: Any = None,
) -> None:
    """Add an entry (inside core.events.transaction()). `before`/`after`: the target's
    state as the API shows it (a Struct or a dict), or nothing for creations/deletions.
    `action` reads `<target>.<verb>`, e.g. `agent.deactivated`, `conversation.assigned`."""
    who = actor_of(actor) if isinstance(actor, Principal) else actor
    await connection().execute(
        "INSERT INTO audit_log (customer_id, actor_type, actor_id, action, target_type,"
        " target_id, before, after, tm_create) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb,"
        " $8::jsonb, $9)",
        customer_id,
        who.type.value,
        who.id,
        action,
        target_type,
        str(target_id) if target_id is not None else "",
        msgspec.json.encode(_plain(before)).decode(),
        msgspec.json.encode(_plain(after)).decode(),
        now(),
    )
