"""Admin → Audit log (`/admin/audit`): every admin action and routing decision, newest
first, in keyset pages, with filters (action, target type, who), each entry's before and
after shown as the fields that changed. Reads through `audit.service`, the code
`GET /v1.0/audit_log` calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.response import Template

from app.audit import service as audit
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import admin_context, page_router
from app.domain.principal import Principal
from app.domain.resources import AuditEntryOut
from app.people import agents

PAGE_SIZE = 50
TARGET_TYPES = [
    "agent",
    "team",
    "accesskey",
    "account",
    "customer",
    "conversation",
    "automation_rule",
    "macro",
]
ACTIONS = [
    # the actions admins look for most, offered as suggestions (any action may be typed)
    "agent.created",
    "agent.updated",
    "agent.deactivated",
    "agent.reactivated",
    "agent.password_reset",
    "agent.password_changed",
    "agent.profile_updated",
    "team.created",
    "team.updated",
    "team.deleted",
    "accesskey.created",
    "accesskey.revoked",
    "account.created",
    "account.updated",
    "account.deleted",
    "conversation.assigned",
    "conversation.unassigned",
    "conversation.queued",
    "conversation.reassigned",
    "conversation.deleted",
    "automation_rule.created",
    "automation_rule.updated",
    "automation_rule.executed",
    "macro.executed",
]
SKIPPED = {"tm_update", "customer_id"}
AGENT_FIELDS = {"owner_id": "owner"}
"""Fields holding an agent's id: shown as the agent's name, under a plain label."""
"""Fields every change touches or that never change: they say nothing in a diff."""
SYSTEM = "system"
"""The "who" filter's value for routing and timers (no agent)."""


class Filters(msgspec.Struct, kw_only=True):
    action: str = ""
    target_type: str = ""
    actor: str = ""
    """An agent's id, or "system"."""
    page_token: str = ""

    def query(self, **changes: str) -> str:
        values = {**msgspec.structs.asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def any(self) -> bool:
        return bool(self.action or self.target_type or self.actor)


def _shown(value: Any) -> str:
    """A field's value, readable: lists joined, nothing as "—"."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    return str(value)


def agent_ids_in(entries: list[AuditEntryOut]) -> list[str]:
    """The agent ids the entries' changes mention (a room's owner before and after)."""
    return [
        str(side[key])
        for e in entries
        for side in (e.before, e.after)
        for key in AGENT_FIELDS
        if side.get(key)
    ]


def changes(
    entry: AuditEntryOut, names: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field that differs; every field of a creation or a
    deletion (the side that is empty shows "—"). Agent ids read as names when `names`
    knows them."""
    names = names or {}
    keys = [k for k in {**entry.before, **entry.after} if k not in SKIPPED]
    rows = []
    for key in keys:
        before, after = entry.before.get(key), entry.after.get(key)
        if entry.before and entry.after and before == after:
            continue
        if key in AGENT_FIELDS:
            before, after = (names.get(str(v), v) if v else v for v in (before, after))
        rows.append(
            (
                AGENT_FIELDS.get(key, key.replace("_", " ")),
                _shown(before) if key in entry.before else "—",
                _shown(after) if key in entry.after else "—",
            )
        )
    return rows


class AuditController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def audit_page(
        self,
        principal: Principal,
        action: str = "",
        target_type: str = "",
        actor: str = "",
        page_token: str = "",
    ) -> Template:
        filters = Filters(
            action=action.strip()[:64],
            target_type=target_type.strip()[:32],
            actor=actor.strip()[:64],
            page_token=page_token.strip()[:64],
        )
        f = audit.audit_filter(
            actor_id=filters.actor if filters.actor not in ("", SYSTEM) else None,
            actor_type=SYSTEM if filters.actor == SYSTEM else None,
            action=filters.action,
            target_type=filters.target_type,
        )
        entries, older = await audit.list_entries(
            principal, f, PAGE_SIZE, filters.page_token or None
        )
        directory = await agents.directory(principal)
        named: list[str | None] = [e.actor_id for e in entries]
        named += [e.target_id for e in entries if e.target_type == "agent"]
        named += agent_ids_in(entries)
        names = await agents.names(principal.customer_id, named)
        context = await admin_context(
            principal,
            "audit",
            entries=entries,
            older=older,
            filters=filters,
            names=names,
            directory=directory,
            target_types=TARGET_TYPES,
            actions=ACTIONS,
            changes=lambda entry: changes(entry, names),
        )
        return Template("admin/audit.html", context=context)


ROUTES: list = [page_router("/admin/audit", AuditController)]
