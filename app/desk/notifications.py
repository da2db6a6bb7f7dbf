"""The desk's notifications: the bell in the rail with the unread count,
its panel of recent notifications, "mark all read", the link that opens a notification's
room, and the agents a note in a room may `@`mention (the composer's autocomplete,
static/js/mentions.js). Reads and writes through `notifications.service`, the code
`/v1.0/notifications` calls. The count is pushed live by the desk socket
(app/desk/ws.py: `bell`).

Opening a notification (its link) marks it read, as Chatwoot does: reading a room does
not, because a mention points at one note that the agent may not have scrolled to."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from app.conversations import notes
from app.desk.admin_kit import page_router
from app.desk.render import is_htmx, render_small
from app.desk.session import DESK_PRINCIPAL
from app.domain.principal import Principal
from app.notifications import service
from app.people import agents

PANEL_SIZE = 20


async def bell(principal: Principal, oob: bool = False) -> str:
    """The rail's unread count as it is now (pushed with `oob`)."""
    count = await service.unread_count(principal)
    return render_small("partials/notif_count.html", unread=count, oob=oob)


async def panel_context(principal: Principal) -> dict[str, Any]:
    items = await service.recent(principal, PANEL_SIZE)
    names = await agents.names(principal.customer_id, [n.actor_id for n in items])
    return {"items": items, "names": names, "unread": await service.unread_count(principal)}


class NotificationDeskController(Controller):
    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/count")
    async def count(self, principal: Principal) -> Response:
        return Response(await bell(principal), media_type="text/html")

    @get("/panel")
    async def panel(self, principal: Principal) -> Template:
        return Template("partials/notif_panel.html", context=await panel_context(principal))

    @post("/read_all")
    async def read_all(self, request: Request, principal: Principal) -> Response:
        await service.read_all(principal)
        if not is_htmx(request):
            return Redirect(request.headers.get("referer") or "/", status_code=303)
        context = await panel_context(principal)
        return Template("partials/notif_panel.html", context={**context, "with_count": True})

    @get("/{notification_id:str}/open")
    async def open(self, principal: Principal, notification_id: str) -> Redirect:
        """A notification's link: read now, then its room (at the note it is about)."""
        n = await service.read_one(principal, notification_id)
        if not n.conversation_id:
            return Redirect("/", status_code=303)
        anchor = f"#item-{n.message_id}" if n.message_id else ""
        return Redirect(f"/conversations/{n.conversation_id}{anchor}", status_code=303)

    @get("/mentionable")
    async def mentionable(self, principal: Principal, room: str) -> list[dict[str, str]]:
        """Whom a note in `room` may mention (the composer's `@` list): id, shown name,
        username and the text to insert."""
        found = await notes.mention_candidates(principal, room)
        return [
            {"id": a.id, "name": a.name or a.username, "username": a.username, "insert": text}
            for a, text in found
        ]


ROUTES = [page_router("/notifications", NotificationDeskController)]
