"""Who is asking: the authenticated agent (directly, or through an access key it made),
and the permission rules that depend only on that."""

from __future__ import annotations

import msgspec

from app.domain.enums import Permission
from app.domain.errors import Forbidden


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    agent_id: str
    username: str
    permission: Permission
    via: str
    """"token" or "accesskey"."""

    @property
    def is_admin(self) -> bool:
        return self.permission is Permission.ADMIN

    @property
    def sees_all_conversations(self) -> bool:
        return self.permission in (Permission.ADMIN, Permission.MANAGER)


def may_see_room(principal: Principal, owner_id: str | None) -> bool:
    """Admins and managers see every room; an agent sees the rooms assigned to it and the
    unassigned ones (the SQL form of this rule is `services.conversations.visible`)."""
    return principal.sees_all_conversations or owner_id in (None, principal.agent_id)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("admin_required", "Only an admin of this customer may do this.")
