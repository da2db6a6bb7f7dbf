"""The agent desk: the inbox, a room, and the actions an agent takes in it.

Every page works without JavaScript (links and forms that redirect back); with htmx the
same forms answer with the fragments to swap. Live changes arrive over the desk websocket
(app/desk/live_inbox.py), rendered by the same templates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import Body
from litestar.response import File, Redirect, Template
from litestar.types import ExceptionHandlersMap

from app.automation import service as automation
from app.canned import signatures
from app.conversations import media, messages, notes
from app.conversations import service as conversations
from app.core.events import last_event_id
from app.csat import service as csat
from app.desk import forms, inbox, replies, timeline
from app.desk.render import is_htmx, render
from app.desk.session import DESK_PRINCIPAL
from app.domain.enums import ConversationStatus, ParticipantType, Priority
from app.domain.errors import InvalidInput, ServiceError
from app.domain.explain import explain
from app.domain.principal import Principal
from app.domain.resources import ConversationUpdate, MessageCreate, ParticipantIn
from app.domain.timefmt import parse
from app.people import agents
from app.routing import engine
from app.settings import Settings

MENU_MACROS = 100
"""Macros the bulk bar and a room's Macros menu list, at most (newest first: the agent's
own and the shared ones)."""

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
STATUSES = [s.value for s in ConversationStatus]
PRIORITIES = [p.value for p in Priority]
CHANNEL_FILTERS = ["tel", "email", "line", "webchat", "whatsapp"]


async def provide_filter(
    principal: Principal,
    view: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    team: str | None = None,
    priority: str | None = None,
    sla: str | None = None,
    sort: str | None = None,
) -> inbox.InboxFilter:
    """The inbox view and filters from the query string (unknown values are ignored)."""
    return await inbox_filter(
        principal,
        {
            "view": view,
            "status": status,
            "channel": channel,
            "tag": tag,
            "q": q,
            "team": team,
            "priority": priority,
            "sla": sla,
            "sort": sort,
        },
    )


async def inbox_filter(principal: Principal, given: dict[str, str | None]) -> inbox.InboxFilter:
    """The inbox filter from query parameters (the page's, or the desk socket's)."""
    view = given.get("view")
    if view not in inbox.VIEWS:
        view = inbox.default_view(principal)
    my_teams = tuple(await engine.teams_of_agent(principal.customer_id, principal.agent_id))
    team = (given.get("team") or "").strip().lower()
    return inbox.InboxFilter(
        view=view,
        status=given.get("status") if given.get("status") in STATUSES else None,
        channel=given.get("channel") if given.get("channel") in CHANNEL_FILTERS else None,
        tag=(given.get("tag") or "").strip() or None,
        q=(given.get("q") or "").strip()[:200] or None,
        team=team if _is_id(team) else None,
        priority=given.get("priority") if given.get("priority") in PRIORITIES else None,
        sla=given.get("sla") if given.get("sla") in inbox.SLA_FILTERS else None,
        sort=_sort(given.get("sort")),
        my_teams=my_teams,
    )


def _sort(given: str | None) -> str:
    return given if given is not None and given in inbox.SORTS else "activity"


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def room_context(principal: Principal, conversation_id: str) -> dict[str, Any]:
    """Everything the room column and the context panel show."""
    room_row = await conversations.get_room(principal, conversation_id)
    room = await conversations.room_out(room_row)
    items, older = await timeline.timeline(principal, conversation_id)
    targets = await messages.reply_targets(room_row)
    names = await agents.names(principal.customer_id, [room.owner_id])
    return {
        "room": room,
        "items": items,
        "older": older,
        "targets": targets,
        "owner_name": names.get(room.owner_id or ""),
        # the composer's "Will be appended" preview, per channel account
        "signatures": await signatures.previews(principal, [t.account_id for t in targets]),
        # the side panel's rating and comment, once the customer answered its survey
        "csat": await csat.response_of_room(room.id) if room.csat is not None else None,
    }


async def page_context(
    principal: Principal, f: inbox.InboxFilter, conversation_id: str | None = None
) -> dict[str, Any]:
    # The event cursor is read first: anything that commits while the page is built is
    # then replayed by the websocket (and swapped in place, so nothing shows twice).
    since = await last_event_id(principal.customer_id)
    rows, more = await inbox.inbox(principal, f)
    context: dict[str, Any] = {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "filter": f,
        "rows": rows,
        "more": more,
        "since": since,
        "room": None,
        "directory": await agents.directory(principal),
        "statuses": STATUSES,
        "channels": CHANNEL_FILTERS,
        "priorities": PRIORITIES,
        # the bulk bar's "Apply macro…": the agent's own macros and the shared ones
        "macros": (await automation.list_macros(principal, MENU_MACROS, None))[0],
        **await team_context(principal, f),
    }
    if conversation_id:
        context.update(await room_context(principal, conversation_id))
        await inbox.mark_read(principal, context["room"].id)
        for row in rows:
            if row.room.id == context["room"].id:
                row.unread = 0
    return context


async def team_context(principal: Principal, f: inbox.InboxFilter) -> dict[str, Any]:
    """The teams for the inbox's team filter and the room panel, and how many rooms wait
    in the queue of the teams the view shows."""
    team_list = await inbox.all_teams(principal)
    shown = [f.team] if f.team else list(f.my_teams) if f.view == "teams" else []
    names = {t.id: t.name for t in team_list}
    lengths = await inbox.queue_lengths(principal, shown) if shown else {}
    return {
        "teams": team_list,
        "team_names": names,
        "queue_lengths": {t: lengths.get(t, 0) for t in shown if t in names},
    }


@dataclass
class ReplyForm:
    text: str = ""
    participant_id: str = ""
    mode: str = "reply"
    files: list[Any] = field(default_factory=list)
    """Uploads; a browser sends an empty part (a str here) when no file was chosen."""
    # replies: Send later, and the stale-reply check (app/desk/replies.py)
    later: str = ""
    send_at_local: str = ""
    tz_offset: str = ""
    known_at: str = ""
    """When the agent began typing, the time of the newest item it saw (static/js/stale.js)."""
    force: str = ""
    """"1": send anyway, after the stale-reply warning."""


class AssignForm(msgspec.Struct, kw_only=True):
    owner_id: str = ""


class StatusForm(msgspec.Struct, kw_only=True):
    status: str = ""


class TagsForm(msgspec.Struct, kw_only=True):
    tags: str = ""


class PriorityForm(msgspec.Struct, kw_only=True):
    priority: str = ""


class TeamForm(msgspec.Struct, kw_only=True):
    team_id: str = ""


class ParticipantForm(msgspec.Struct, kw_only=True):
    type: str = ""
    target: str = ""
    target_name: str = ""


class DeskController(Controller):
    dependencies = {**DESK_PRINCIPAL, "f": Provide(provide_filter)}
    include_in_schema = False

    @get("/")
    async def inbox_page(self, principal: Principal, f: inbox.InboxFilter) -> Template:
        return Template("desk.html", context=await page_context(principal, f))

    @get("/inbox/more")
    async def inbox_more(self, principal: Principal, f: inbox.InboxFilter, after: str) -> Template:
        rows, more = await inbox.inbox(principal, f, after=after)
        return Template(
            "partials/inbox_page.html",
            context={"rows": rows, "more": more, "filter": f, "principal": principal},
        )

    @get("/conversations/{conversation_id:str}")
    async def room_page(
        self, principal: Principal, f: inbox.InboxFilter, conversation_id: str
    ) -> Template | Redirect:
        room = await conversations.get_room(principal, conversation_id)
        if room.merged_into is not None:  # a merged room's link leads where it went
            query = urlencode({k: v for k, v in f.params().items() if v})
            where = f"/conversations/{room.merged_into}" + (f"?{query}" if query else "")
            return Redirect(where, status_code=303)
        return Template("desk.html", context=await page_context(principal, f, conversation_id))

    @get("/conversations/{conversation_id:str}/older")
    async def older(self, principal: Principal, conversation_id: str, before: str) -> Template:
        items, older = await timeline.timeline(principal, conversation_id, before=before)
        room = await conversations.get_conversation(principal, conversation_id)
        return Template(
            "partials/timeline_page.html",
            context={"items": items, "older": older, "room": room, "principal": principal},
        )

    @post("/conversations/{conversation_id:str}/reply", request_max_body_size=60 * 1024 * 1024)
    async def reply(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        conversation_id: str,
        data: Annotated[ReplyForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response:
        files = [f for f in data.files or [] if isinstance(f, UploadFile) and f.filename]
        if data.mode == "note":
            item_source = await notes.add_note(principal, conversation_id, data.text)
            item = timeline.Item(
                kind="note",
                tm=parse(item_source.tm_create),
                activity=item_source,
                author=await agents.display_name(principal),
            )
        else:
            medias = []
            for upload in files[:10]:
                content = await upload.read()
                medias.append(
                    media.store(
                        settings.data_dir,
                        settings.public_url,
                        upload.filename,
                        upload.content_type,
                        content,
                    )
                )
            check = data.known_at if data.known_at and data.force != "1" else None
            try:
                message = await messages.send_message(
                    principal,
                    conversation_id,
                    forms.convert(
                        {
                            "text": data.text,
                            "medias": medias,
                            "participant_id": data.participant_id or None,
                            "scheduled_at": replies.schedule_from_form(
                                data.later, data.send_at_local, data.tz_offset
                            ),
                            "if_no_activity_since": check,
                        },
                        MessageCreate,
                    ),
                )
            except messages.StaleReply as warning:
                if not is_htmx(request):
                    raise
                return replies.stale_warning(warning)
            item = await timeline.message_item(message)
        if not is_htmx(request):
            return Redirect(f"/conversations/{conversation_id}", status_code=303)
        # at the end of the timeline, dropping the copy the websocket may have shown first
        html = render(
            "partials/timeline_item.html", item=item, principal=principal, oob=True, place="end"
        )
        return Response(html, media_type="text/html")

    async def _room_changed(self, request: Request, principal: Principal, room_id: str):
        if not is_htmx(request):
            return Redirect(f"/conversations/{room_id}", status_code=303)
        context = await room_context(principal, room_id)
        context.update(
            principal=principal,
            directory=await agents.directory(principal),
            teams=await inbox.all_teams(principal),
            oob=True,
        )
        return Template("partials/room_chrome.html", context=context)

    @post("/conversations/{conversation_id:str}/priority")
    async def set_priority(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        data: Annotated[PriorityForm, FORM],
    ) -> Response:
        if data.priority not in PRIORITIES:
            raise InvalidInput("invalid_priority", "Choose a priority.")
        await conversations.update_conversation(
            principal, conversation_id, ConversationUpdate(priority=Priority(data.priority))
        )
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/team")
    async def set_team(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        data: Annotated[TeamForm, FORM],
    ) -> Response:
        update = forms.convert({"team_id": data.team_id.strip() or None}, ConversationUpdate)
        await conversations.update_conversation(principal, conversation_id, update)
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/assign")
    async def assign(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        data: Annotated[AssignForm, FORM],
    ) -> Response:
        owner = principal.agent_id if data.owner_id == "me" else (data.owner_id or None)
        await conversations.update_conversation(
            principal, conversation_id, ConversationUpdate(owner_id=owner)
        )
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/status")
    async def set_status(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        data: Annotated[StatusForm, FORM],
    ) -> Response:
        if data.status not in ("active", "closed"):
            raise InvalidInput("invalid_status", "Close or reopen.")
        await conversations.update_conversation(
            principal, conversation_id, ConversationUpdate(status=ConversationStatus(data.status))
        )
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/tags")
    async def set_tags(
        self,
        request: Request,
        principal: Principal,
        conversation_id: str,
        data: Annotated[TagsForm, FORM],
    ) -> Response:
        tags = [t.strip() for t in data.tags.split(",") if t.strip()]
        update = forms.convert({"tags": tags}, ConversationUpdate)
        await conversations.update_conversation(principal, conversation_id, update)
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/participants")
    async def add_participant(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        conversation_id: str,
        data: Annotated[ParticipantForm, FORM],
    ) -> Response:
        if data.type not in {t.value for t in ParticipantType} - {"agent"}:
            raise InvalidInput("invalid_participant_type", "Choose a channel.")
        await conversations.add_participant(
            principal,
            conversation_id,
            ParticipantIn(
                type=ParticipantType(data.type),
                target=data.target,
                target_name=data.target_name[:255],
            ),
            default_region=settings.default_region,
        )
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/participants/{participant_id:str}/remove")
    async def remove_participant(
        self, request: Request, principal: Principal, conversation_id: str, participant_id: str
    ) -> Response:
        await conversations.remove_participant(principal, conversation_id, participant_id)
        return await self._room_changed(request, principal, conversation_id)

    @post("/conversations/{conversation_id:str}/read", status_code=204)
    async def mark_read(self, principal: Principal, conversation_id: str) -> None:
        room = await conversations.get_room(principal, conversation_id)
        await inbox.mark_read(principal, str(room.id))

    @post("/messages/{message_id:str}/retry")
    async def retry(self, request: Request, principal: Principal, message_id: str) -> Response:
        message = await messages.retry(principal, message_id)
        if not is_htmx(request):
            return Redirect(f"/conversations/{message.conversation_id}", status_code=303)
        item = await timeline.message_item(message)
        return Template("partials/timeline_item.html", context={"item": item})


@get("/media/{key:str}/{name:str}", include_in_schema=False)
async def media_file(settings: Settings, key: str, name: str) -> File:
    path = media.path_of(settings.data_dir, key, name)
    if path is None:
        raise NotFoundException()
    # Files come from customers and providers: pictures, sound, video and PDFs open in the
    # browser; anything else downloads. Never sniffed into HTML, never run as our origin.
    return File(
        path=path,
        filename=name,
        content_disposition_type="inline" if media.shows_inline(name) else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


def desk_error(request: Request, exc: ServiceError | HTTPException) -> Response:
    """A refused desk action: htmx shows the message as a toast (the page's alert area);
    without JavaScript, a small error page with the same words. Validator text is
    worded for people here (`app.domain.explain`); a client error Litestar raises
    itself (an unreadable body, one too large) gets a plain sentence too."""
    if isinstance(exc, ValidationException):
        exc = _from_validation(exc)
    elif not isinstance(exc, ServiceError):
        exc = _from_http(exc)
    context = {"error": exc.message, "status": exc.status_code}
    if is_htmx(request):
        return Template(
            "partials/alert.html",
            context={**context, "oob": True},
            status_code=200,
            # htmx swaps only the toast; the page's script keeps a composer's text
            headers={"HX-Reswap": "none", "X-Desk-Refused": exc.reason},
        )
    return Template("error.html", context=context, status_code=exc.status_code)


def _from_validation(exc: ValidationException) -> ServiceError:
    """Litestar's refusal of a query parameter or form field, for people."""
    found = [d for d in exc.extra if isinstance(d, dict)] if isinstance(exc.extra, list) else []
    if not found:
        return InvalidInput("invalid_form", explain(str(exc.detail or ""), forms.LABELS))
    first = found[0]
    key = str(first.get("key") or "")
    message = explain(str(first.get("message", "")), forms.LABELS, field=key or None)
    return InvalidInput("invalid_form", message)


HTTP_WORDS = {
    403: "This page has expired; reload it and try again.",
    404: "There is no such page.",
    405: "There is no such page.",
    413: "That is too much to send at once.",
}


def _from_http(exc: HTTPException) -> ServiceError:
    code = exc.status_code
    words = HTTP_WORDS.get(code) or (
        "That request could not be read; try again."
        if code < 500
        else "Something went wrong on our side; try again."
    )
    error = ServiceError(f"http_{code}", words)
    error.status_code = code
    return error


DESK_ERRORS: ExceptionHandlersMap = {
    ServiceError: desk_error,
    ValidationException: desk_error,
    HTTPException: desk_error,
}
"""The exception handlers of every desk, Talk and admin route: pages and toasts, never the
API's JSON envelope."""
