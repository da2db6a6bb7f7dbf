"""The desk's side of replies: "Send later" times from the
composer's menu, the stale-reply warning, and editing or cancelling a scheduled reply
from its timeline item. The composer's own form is `pages.DeskController.reply`, which
calls `schedule_from_form` and `stale_warning` here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from app.conversations import messages
from app.desk import forms, timeline
from app.desk.render import is_htmx, render
from app.desk.session import DESK_PRINCIPAL
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.domain.resources import MessageUpdate
from app.domain.timefmt import fmt, now

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
TOMORROW_AT = time(9, 0)
""""Tomorrow" in the Send later menu: 9:00 in the agent's browser time."""
MAX_OFFSET = 14 * 60  # minutes: the widest time zone offsets are UTC-12 and UTC+14


def _offset(tz_offset: str) -> timedelta:
    """The browser's `Date.getTimezoneOffset()` (minutes, UTC minus local); UTC if absent
    (the page without JavaScript)."""
    try:
        minutes = int(tz_offset or 0)
    except ValueError:
        minutes = 0
    return timedelta(minutes=max(-MAX_OFFSET, min(MAX_OFFSET, minutes)))


def _from_local(value: str, offset: timedelta) -> datetime:
    """A `datetime-local` value (the agent's wall clock) in UTC."""
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("invalid_time", "Pick a date and time to send it at.") from None
    return local.replace(tzinfo=UTC) + offset


def schedule_from_form(
    later: str, send_at_local: str, tz_offset: str, at: datetime | None = None
) -> str | None:
    """The `scheduled_at` the composer's Send later menu asks for: `1h`, `tomorrow` (9:00
    in the browser's time zone) or `custom` (its datetime-local field); None: send now.
    Past or too-far times are refused by the service (422)."""
    if not later:
        return None
    at = at or now()
    offset = _offset(tz_offset)
    if later == "1h":
        due = at + timedelta(hours=1)
    elif later == "tomorrow":
        local_day = (at - offset).date() + timedelta(days=1)
        due = datetime.combine(local_day, TOMORROW_AT, UTC) + offset
    elif later == "custom":
        due = _from_local(send_at_local, offset)
    else:
        raise InvalidInput("invalid_later", "Choose when to send it.")
    return fmt(due)


def stale_warning(warning: messages.StaleReply) -> Response:
    """The composer's warning instead of sending: "Sam replied 20 s ago — send anyway?".
    Refused (X-Desk-Refused), so the composer keeps its text; static/js/stale.js offers
    Send anyway (the same form with `force`) and Cancel."""
    html = render("partials/stale_warning.html", message=warning.message, oob=True)
    return Response(
        html,
        media_type="text/html",
        headers={"HX-Reswap": "none", "X-Desk-Refused": warning.reason},
    )


@dataclass
class ScheduleForm:
    text: str = ""
    send_at_local: str = ""
    tz_offset: str = ""


class ScheduledDeskController(Controller):
    """A scheduled reply's Edit and Cancel, in its timeline item (in the desk's router:
    its errors are the desk's toasts)."""

    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @post("/conversations/{conversation_id:str}/messages/{message_id:str}/schedule")
    async def edit(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        message_id: str,
        data: Annotated[ScheduleForm, FORM],
    ) -> Response:
        fields: dict[str, str] = {}
        if data.text.strip():
            fields["text"] = data.text
        if data.send_at_local.strip():
            fields["scheduled_at"] = fmt(_from_local(data.send_at_local, _offset(data.tz_offset)))
        message = await messages.update_scheduled(
            principal, conversation_id, message_id, forms.convert(fields, MessageUpdate)
        )
        return await _item(request, principal, message)

    @post("/conversations/{conversation_id:str}/messages/{message_id:str}/cancel")
    async def cancel(
        self, request: Request, principal: Principal, conversation_id: str, message_id: str
    ) -> Response:
        message = await messages.cancel_scheduled(principal, conversation_id, message_id)
        return await _item(request, principal, message)


async def _item(request: Request, principal: Principal, message) -> Response:
    if not is_htmx(request):
        return Redirect(f"/conversations/{message.conversation_id}", status_code=303)
    item = await timeline.message_item(message)
    html = render("partials/timeline_item.html", item=item, principal=principal)
    return Response(html, media_type="text/html")
