"""What the desk's live parts (`live_inbox`, `live_talk`) need from a desk connection:
who is looking, at which page, room and talk, and the hub whose shared work they use. A
protocol, so those parts depend on this and not on the connection that calls them."""

from __future__ import annotations

from typing import Protocol

from app.core.hub import Hub
from app.desk.inbox import InboxFilter
from app.domain.principal import Principal


class LivePage(Protocol):
    principal: Principal
    hub: Hub
    agent_id: str
    page: str
    """"inbox" (conversations) or "talks" (the Talk area)."""
    room_id: str | None
    talk_id: str | None
    view: InboxFilter

    async def leave_room(self) -> None: ...
