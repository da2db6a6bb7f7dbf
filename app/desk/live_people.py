"""What an agent's availability change means for a desk page: its own rail switch shows
the new state (changed in another tab, by an admin, or by auto-offline). Pushed as the
same partial the pages render, swapped by id (every desk page has `#me-switch`)."""

from __future__ import annotations

from typing import Any, Protocol

from app.desk.render import render
from app.domain.principal import Principal


class Watcher(Protocol):
    principal: Principal


def fragments(conn: Watcher, data: dict[str, Any]) -> list[str]:
    """`agent_availability_updated`'s data (AgentAvailabilityOut) → what to push."""
    if data.get("id") != conn.principal.agent_id:
        return []
    return [
        render(
            "partials/me_switch.html",
            principal=conn.principal,
            me_name=data.get("name") or conn.principal.username,
            me_availability=data.get("availability") or "offline",
            oob=True,
        )
    ]
