"""Who is asking: the authenticated agent (directly, or through an access key it made),
and the permission rules that depend only on that."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from app.domain.enums import Permission, is_private_to_audience
from app.domain.errors import Forbidden


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    agent_id: str
    username: str
    permission: Permission
    via: str
    """"token" or "accesskey"; "automation" for a rule (app/automation/actions.py)."""

    @property
    def is_automation(self) -> bool:
        """A rule acting: no agent is behind it."""
        return self.via == "automation"

    @property
    def is_admin(self) -> bool:
        return self.permission is Permission.ADMIN

    @property
    def sees_all_conversations(self) -> bool:
        return self.permission in (Permission.ADMIN, Permission.MANAGER)


# --- who may see what: one rule, for rooms and for the events about them ---------------
#
# An event carries an `audience`: empty when every agent of the customer may see it, else
# the agents who may. A room's events get the room's owner as their audience, so "may see
# the room" and "may see its events" are the same rule by construction.


def room_audience(*owner_ids: Any) -> list[str]:
    """The audience of an event about a room with these owners (its owner now and, when
    it changes hands, the one before, so it leaves their view): everyone when the room is
    (or becomes) unassigned."""
    if any(o is None for o in owner_ids):
        return []
    return [str(o) for o in owner_ids]


def may_see_event(principal: Principal, event_type: str, audience: Collection[str]) -> bool:
    """Talk events stay among the talk's own participants, admins included
    (enums.is_private_to_audience); any other event follows the room rule below."""
    if is_private_to_audience(event_type):
        return principal.agent_id in audience
    return _in_audience(principal, audience)


def may_see_room(principal: Principal, owner_id: str | None) -> bool:
    """Admins and managers see every room; an agent sees the rooms assigned to it and the
    unassigned ones (the SQL form of this rule is `conversations.service.visible`)."""
    return _in_audience(principal, room_audience(owner_id))


def _in_audience(principal: Principal, audience: Collection[str]) -> bool:
    """Everyone sees what has no audience; admins and managers see all of it; an agent
    sees what it is in the audience of."""
    return not audience or principal.sees_all_conversations or principal.agent_id in audience


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("admin_required", "Only an admin of this customer may do this.")
