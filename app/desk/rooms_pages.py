"""The desk's snooze menu, "Merge into…", the Macros menu and the inbox's bulk bar. Each
form calls the same service as the API (`conversations.snooze`, `merge`,
`automation.service.run_macro`, `bulk`); the room's header, rows and badges then follow
the events live.

Without JavaScript every form posts and redirects back; with htmx the answers are a
toast (the bulk bar's summary) or nothing (the socket brings the changes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.automation import service as automation
from app.conversations import bulk as bulk_service
from app.conversations import merge, snooze
from app.desk import forms, inbox
from app.desk.pages import MENU_MACROS, provide_filter
from app.desk.render import is_htmx, render
from app.desk.session import DESK_PRINCIPAL
from app.domain.enums import BulkAction
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.domain.resources import MAX_BULK, BulkIn, BulkOut
from app.domain.timefmt import fmt, now

PRESETS = ("1h", "tomorrow", "next_week", "reply", "custom")
LABELS = {
    "preset": "The snooze",
    "until": "The time",
    "tz_offset": "The time zone",
    "target_id": "The conversation to merge into",
    "ids": "The conversations",
    "action": "The action",
    "team_id": "The team",
    "priority": "The priority",
    "macro_id": "The macro",
}


def snooze_end(preset: str, until: str, tz_offset: str, at: datetime | None = None) -> str | None:
    """The snooze's end (API time) for a menu choice; None for "until the customer
    replies". `tz_offset`: the browser's `Date.getTimezoneOffset()` (minutes west of UTC),
    so "tomorrow" is 09:00 where the agent is; without it, UTC."""
    if preset not in PRESETS:
        raise InvalidInput("invalid_snooze", "Choose how long to snooze.")
    try:
        offset = max(-14 * 60, min(14 * 60, int(tz_offset or "0")))
    except ValueError:
        offset = 0
    zone = timezone(-timedelta(minutes=offset))
    local = (at or now()).astimezone(zone)
    if preset == "reply":
        return None
    if preset == "1h":
        return fmt(local + timedelta(hours=1))
    if preset == "tomorrow":
        return fmt((local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0))
    if preset == "next_week":
        monday = local + timedelta(days=7 - local.weekday())
        return fmt(monday.replace(hour=9, minute=0, second=0, microsecond=0))
    try:  # custom: a datetime-local input, in the agent's time
        chosen = datetime.fromisoformat(until.strip())
    except ValueError:
        raise InvalidInput("invalid_until", "Pick a date and time to snooze until.") from None
    if chosen.tzinfo is None:
        chosen = chosen.replace(tzinfo=zone)
    return fmt(chosen.astimezone(UTC))


def _back(request: Request, room_id: str) -> Response:
    if is_htmx(request):
        return Response("", status_code=204)
    return Redirect(f"/conversations/{room_id}", status_code=303)


def _summary(out: BulkOut, action: BulkAction) -> str:
    done = sum(1 for r in out.result if r.ok)
    refused = [r for r in out.result if not r.ok]
    verb = {
        BulkAction.ASSIGN: "assigned",
        BulkAction.MOVE_TEAM: "moved",
        BulkAction.ADD_TAGS: "tagged",
        BulkAction.REMOVE_TAGS: "untagged",
        BulkAction.SET_PRIORITY: "reprioritized",
        BulkAction.SNOOZE: "snoozed",
        BulkAction.CLOSE: "closed",
        BulkAction.MARK_READ: "marked read",
        BulkAction.MACRO: "changed by the macro",
    }[action]
    text = f"{done} conversation{'s' if done != 1 else ''} {verb}"
    if refused:
        reasons = sorted({r.error.message for r in refused if r.error})
        text += f"; {len(refused)} refused: " + " ".join(reasons)
    return text + "."


class RoomsDeskController(Controller):
    dependencies = {**DESK_PRINCIPAL, "f": Provide(provide_filter)}
    include_in_schema = False

    @post("/conversations/{conversation_id:str}/snooze", status_code=200)
    async def snooze_room(
        self, request: Request, principal: Principal, conversation_id: str
    ) -> Response:
        form = await forms.read_form(request, LABELS)
        preset = str(form.get("preset") or "")
        end = snooze_end(preset, str(form.get("until") or ""), str(form.get("tz_offset") or ""))
        await snooze.snooze(principal, conversation_id, end, end is None)
        return _back(request, conversation_id)

    @post("/conversations/{conversation_id:str}/wake", status_code=200)
    async def wake_room(
        self, request: Request, principal: Principal, conversation_id: str
    ) -> Response:
        await snooze.wake(principal, conversation_id)
        return _back(request, conversation_id)

    @get("/conversations/{conversation_id:str}/merge-candidates")
    async def merge_candidates(
        self, principal: Principal, conversation_id: str, q: str | None = None
    ) -> Template:
        found = await merge.candidates(principal, conversation_id, q)
        return Template(
            "partials/merge_candidates.html",
            context={"room_id": conversation_id, "candidates": found, "principal": principal},
        )

    @post("/conversations/{conversation_id:str}/merge-into", status_code=200)
    async def merge_into(
        self, request: Request, principal: Principal, conversation_id: str
    ) -> Response:
        """This room (B) goes into the room picked (A); the agent lands in A."""
        form = await forms.read_form(request, LABELS)
        target = str(form.get("target_id") or "").strip()
        if not target:
            raise InvalidInput("invalid_form", "Pick the conversation to merge into.")
        room = await merge.merge(principal, target, conversation_id)
        where = f"/conversations/{room.id}"
        if is_htmx(request):
            return Response("", status_code=204, headers={"HX-Redirect": where})
        return Redirect(where, status_code=303)

    @get("/conversations/{conversation_id:str}/macros")
    async def macro_menu(self, principal: Principal, conversation_id: str) -> Template:
        """The Macros menu's list: the agent's own macros and the shared ones."""
        found, _ = await automation.list_macros(principal, MENU_MACROS, None)
        return Template(
            "partials/macro_menu.html",
            context={"room_id": conversation_id, "macros": found, "principal": principal},
        )

    @post("/conversations/{conversation_id:str}/macros/{macro_id:str}", status_code=200)
    async def apply_macro(
        self, request: Request, principal: Principal, conversation_id: str, macro_id: str
    ) -> Response:
        """Apply a macro; the room's changes come by the socket, the answer is a toast
        saying what was done (and what could not be, with the reason)."""
        out = await automation.run_macro(principal, conversation_id, macro_id)
        if not is_htmx(request):
            return Redirect(f"/conversations/{conversation_id}", status_code=303)
        html = render("partials/macro_result.html", run=out.run, oob=True)
        return Response(html, media_type="text/html", headers={"HX-Reswap": "none"})

    @post("/inbox/bulk", status_code=200)
    async def bulk_action(
        self, request: Request, principal: Principal, f: inbox.InboxFilter
    ) -> Response:
        """The bulk bar: the rooms ticked (`ids`), or with `all_matching` every room of the
        view's filter (up to 1,000), and the button pressed (`action`)."""
        form = await forms.read_form(request, LABELS)
        try:
            action = BulkAction(str(form.get("action") or ""))
        except ValueError:
            raise InvalidInput("invalid_action", "Choose what to do.") from None
        if form.get("all_matching"):
            ids = await _matching(principal, f)
        else:
            ids = [str(i) for i in form.getall("ids")] if "ids" in form else []
        if not ids:
            raise InvalidInput("nothing_selected", "Select some conversations first.")
        body: dict[str, Any] = {"conversation_ids": ids[:MAX_BULK], "action": action.value}
        if action is BulkAction.ASSIGN:
            owner = str(form.get("owner_id") or "")
            body["owner_id"] = principal.agent_id if owner == "me" else (owner or None)
        elif action is BulkAction.MOVE_TEAM:
            body["team_id"] = str(form.get("team_id") or "") or None
        elif action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
            body["tags"] = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
        elif action is BulkAction.SET_PRIORITY:
            body["priority"] = str(form.get("priority") or "")
        elif action is BulkAction.MACRO:
            body["macro_id"] = str(form.get("macro_id") or "")
            if not body["macro_id"]:
                raise InvalidInput("invalid_form", "Choose the macro to apply.")
        elif action is BulkAction.SNOOZE:
            end = snooze_end(
                str(form.get("preset") or ""),
                str(form.get("until") or ""),
                str(form.get("tz_offset") or ""),
            )
            body["until"], body["until_reply"] = end, end is None
        out = await bulk_service.bulk(principal, forms.convert(body, BulkIn, LABELS))
        summary = _summary(out, action)
        if not is_htmx(request):
            return Redirect("/?" + _query(f), status_code=303)
        html = render("partials/bulk_result.html", summary=summary, oob=True)
        if action is BulkAction.MARK_READ:  # no event: this agent's badges go to 0 here
            for item in out.result:
                if item.ok:
                    row = {"room": {"id": item.id}, "unread": 0}
                    html += render("partials/unread.html", row=row, oob=True)
        return Response(html, media_type="text/html", headers={"HX-Reswap": "none"})


async def _matching(principal: Principal, f: inbox.InboxFilter) -> list[str]:
    """Every room of the view's filter, as the inbox lists them, up to MAX_BULK."""
    ids: list[str] = []
    after: str | None = None
    while len(ids) < MAX_BULK:
        rows, after = await inbox.inbox(principal, f, after=after, limit=200)
        ids += [r.room.id for r in rows]
        if not after:
            break
    return ids[:MAX_BULK]


def _query(f: inbox.InboxFilter) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in f.params().items() if v})
