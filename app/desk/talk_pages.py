"""The desk's Talk area: the talk list, a talk's messages, a thread, and what an agent
does there (write, reply, react, edit, delete, start, leave, add, close, reopen).

Like the Inbox, every page works without JavaScript (forms redirect back); htmx forms get
the same fragments the desk websocket pushes (app/desk/live_talk.py), swapped
out-of-band by id, so a message that arrives both ways shows once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app.conversations import media
from app.core.events import last_event_id
from app.desk import forms, talk_views
from app.desk.pages import FORM, StatusForm
from app.desk.render import is_htmx, remove, render
from app.desk.session import DESK_PRINCIPAL
from app.domain import emoji
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.domain.resources import TalkCreate, TalkMessageCreate, TalkMessageOut
from app.people import agents
from app.settings import Settings
from app.talk import messages as talk_messages
from app.talk import service as talks

PAGE = 50


# --- fragments (shared with the desk socket) ------------------------------------------


def message_fragments(
    message: TalkMessageOut,
    names: dict[str, str],
    principal: Principal,
    *,
    new: bool,
    csrf: Any = None,
) -> str:
    """What one message event changes on a page: a new message is appended to the stream
    or its thread (after dropping a copy already shown); a changed one is re-rendered in
    place, both in the stream and as the open thread's root; a deleted one goes (a root
    with replies stays as "message deleted")."""
    context = {"m": message, "names": names, "principal": principal, "picker": emoji.PICKER}
    context["csrf_token"] = csrf or (lambda: "")
    mid = message.id
    if new:  # a thread that is not open has no list to append to: then it is dropped
        return render("partials/talk_message.html", as_root=False, oob=True, place="end", **context)
    if talk_views.is_deleted(message) and (message.parent_id or not message.reply_count):
        return remove(f"tmsg-{mid}", f"troot-{mid}")
    roots = (False,) if message.parent_id else (False, True)
    return "".join(
        render("partials/talk_message.html", as_root=as_root, oob=True, place="swap", **context)
        for as_root in roots
    )


async def header_context(principal: Principal, talk_id: str) -> dict[str, Any]:
    access = await talks.reach(principal, talk_id)
    talk = access.out()
    names = await agents.names(principal.customer_id, [p.agent_id for p in talk.participants])
    return {
        "row": talk_views.make_row(talk, names, principal.agent_id, 0),
        "principal": principal,
        "directory": await agents.directory(principal),
    }


async def page_context(
    principal: Principal, talk_id: str | None = None, thread_id: str | None = None
) -> dict[str, Any]:
    # The event cursor first: what commits while the page is built is replayed by the
    # socket and swapped in place by id.
    since = await last_event_id(principal.customer_id)
    context: dict[str, Any] = {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "since": since,
        "directory": await agents.directory(principal),
        "row": None,
        "thread": None,
        "picker": emoji.PICKER,
    }
    if talk_id:
        await talk_messages.mark_read(principal, talk_id)  # opening a talk reads it
        context.update(await stream_context(principal, talk_id))
        if thread_id:
            context.update(await thread_context(principal, talk_id, thread_id))
    rows = await talk_views.talk_rows(principal)
    context["rows"] = rows
    context["current_id"] = context["row"].id if context["row"] else None
    context["talk_unread"] = sum(r.unread for r in rows)
    if context["row"]:
        context["row"] = next((r for r in rows if r.id == context["row"].id), context["row"])
    return context


async def stream_context(
    principal: Principal, talk_id: str, before: str | None = None
) -> dict[str, Any]:
    context = await header_context(principal, talk_id)
    messages, older = await talk_messages.list_messages(
        principal, talk_id, page_size=PAGE, page_token=before
    )
    messages.reverse()  # a chat: oldest at the top
    context.update(
        messages=messages,
        older=older,
        names=await talk_views.names_for(principal.customer_id, messages),
        picker=emoji.PICKER,
    )
    return context


async def thread_context(principal: Principal, talk_id: str, message_id: str) -> dict[str, Any]:
    root = await talk_messages.get_message(principal, talk_id, message_id)
    if root.parent_id:
        root = await talk_messages.get_message(principal, talk_id, root.parent_id)
    replies, _ = await talk_messages.list_messages(principal, talk_id, root.id, page_size=100)
    replies.reverse()
    names = await talk_views.names_for(principal.customer_id, [root, *replies])
    return {"thread": root, "replies": replies, "thread_names": names}


def _participant_ids(form: Any) -> list[str]:
    return [v for v in form.getall("participant_ids", []) if isinstance(v, str) and v]


@dataclass
class MessageForm:
    text: str = ""
    parent_id: str = ""
    files: list[Any] = field(default_factory=list)
    """Uploads; a browser sends an empty part (a str here) when no file was chosen."""


class TextForm(msgspec.Struct, kw_only=True):
    text: str = ""


class EmojiForm(msgspec.Struct, kw_only=True):
    emoji: str = ""


class AgentForm(msgspec.Struct, kw_only=True):
    agent_id: str = ""


class TalkDeskController(Controller):
    path = "/talks"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/")
    async def talks_page(self, principal: Principal) -> Template:
        return Template("talks.html", context=await page_context(principal))

    @get("/unread-dot")
    async def unread_dot(self, principal: Principal) -> Template:
        """The nav rail's Talk dot, for pages without the desk socket (admin pages)."""
        total = await talk_views.unread_total(principal)
        return Template("partials/talk_dot.html", context={"talk_unread": total})

    @get("/{talk_id:str}")
    async def talk_page(self, principal: Principal, talk_id: str) -> Template:
        return Template("talks.html", context=await page_context(principal, talk_id))

    @get("/{talk_id:str}/thread/{message_id:str}")
    async def thread_page(
        self, request: Request, principal: Principal, talk_id: str, message_id: str
    ) -> Template:
        if is_htmx(request) and request.headers.get("hx-target") == "thread-col":
            context = await header_context(principal, talk_id)
            context.update(await thread_context(principal, talk_id, message_id))
            context["picker"] = emoji.PICKER
            return Template("partials/talk_thread.html", context=context)
        context = await page_context(principal, talk_id, message_id)
        return Template("talks.html", context=context)

    @get("/{talk_id:str}/older")
    async def older(self, principal: Principal, talk_id: str, before: str) -> Template:
        context = await stream_context(principal, talk_id, before)
        return Template("partials/talk_older_page.html", context=context)

    @post("/new")
    async def start(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        kind = form.get("type") if form.get("type") in ("direct", "group") else "direct"
        data = forms.convert(
            {
                "type": kind,
                "name": str(form.get("name") or "")[:255] if kind == "group" else "",
                "participant_ids": _participant_ids(form),
            },
            TalkCreate,
            {"name": "The talk's name"},
        )
        talk, _ = await talks.create_talk(principal, data)
        return self._go(request, f"/talks/{talk.id}")

    @post("/{talk_id:str}/messages", request_max_body_size=60 * 1024 * 1024)
    async def write(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        talk_id: str,
        data: Annotated[MessageForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response:
        access = await talks.reach(principal, talk_id, write=True)
        medias = []
        for upload in [f for f in data.files or [] if isinstance(f, UploadFile) and f.filename][
            :10
        ]:
            medias.append(
                media.store(
                    settings.data_dir,
                    settings.public_url,
                    upload.filename,
                    upload.content_type,
                    await upload.read(),
                    area=talk_messages.files_area(access.id),
                )
            )
        body = forms.convert(
            {"text": data.text, "medias": medias, "parent_id": data.parent_id or None},
            TalkMessageCreate,
        )
        message = await talk_messages.post_message(principal, access.id, body)
        back = f"/talks/{access.id}" + (f"/thread/{message.parent_id}" if message.parent_id else "")
        return await self._message_result(request, principal, message, back, new=True)

    @post("/{talk_id:str}/messages/{message_id:str}/edit")
    async def edit(
        self,
        request: Request,
        principal: Principal,
        talk_id: str,
        message_id: str,
        data: Annotated[TextForm, FORM],
    ) -> Response:
        message = await talk_messages.edit_message(principal, talk_id, message_id, data.text)
        return await self._message_result(request, principal, message, f"/talks/{talk_id}")

    @post("/{talk_id:str}/messages/{message_id:str}/delete")
    async def delete(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        talk_id: str,
        message_id: str,
    ) -> Response:
        message = await talk_messages.delete_message(
            principal, talk_id, message_id, settings.data_dir
        )
        return await self._message_result(request, principal, message, f"/talks/{talk_id}")

    @post("/{talk_id:str}/messages/{message_id:str}/react")
    async def react(
        self,
        request: Request,
        principal: Principal,
        talk_id: str,
        message_id: str,
        data: Annotated[EmojiForm, FORM],
    ) -> Response:
        """A chip or a picker choice toggles my reaction."""
        current = await talk_messages.get_message(principal, talk_id, message_id)
        wanted = emoji.normalize(data.emoji) or data.emoji
        mine = any(
            r.emoji == wanted and principal.agent_id in r.agent_ids for r in current.reactions
        )
        if mine:
            message = await talk_messages.remove_reaction(principal, current.id, wanted)
        else:
            message, _ = await talk_messages.add_reaction(principal, current.id, wanted)
        return await self._message_result(request, principal, message, f"/talks/{talk_id}")

    @post("/{talk_id:str}/read", status_code=204)
    async def mark_read(self, principal: Principal, talk_id: str) -> None:
        await talk_messages.mark_read(principal, talk_id)

    @post("/{talk_id:str}/leave")
    async def leave(self, request: Request, principal: Principal, talk_id: str) -> Response:
        access = await talks.reach(principal, talk_id)
        me = access.participant(principal.agent_id)
        assert me is not None  # reach answers active participants only
        await talks.remove_participant(principal, talk_id, str(me.id))
        return self._go(request, "/talks")

    @post("/{talk_id:str}/participants")
    async def add(
        self, request: Request, principal: Principal, talk_id: str, data: Annotated[AgentForm, FORM]
    ) -> Response:
        await talks.add_participant(principal, talk_id, data.agent_id)
        return await self._header(request, principal, talk_id)

    @post("/{talk_id:str}/status")
    async def set_status(
        self,
        request: Request,
        principal: Principal,
        talk_id: str,
        data: Annotated[StatusForm, FORM],
    ) -> Response:
        if data.status == "closed":
            await talks.close_talk(principal, talk_id)
        elif data.status == "active":
            await talks.reopen_talk(principal, talk_id)
        else:
            raise InvalidInput("invalid_status", "Close or reopen.")
        return await self._header(request, principal, talk_id)

    # -- answers ---------------------------------------------------------------------

    @staticmethod
    def _go(request: Request, url: str) -> Response:
        if is_htmx(request):
            return Response(None, status_code=204, headers={"HX-Redirect": url})
        return Redirect(url, status_code=303)

    async def _message_result(
        self,
        request: Request,
        principal: Principal,
        message: TalkMessageOut,
        back: str,
        *,
        new: bool = False,
    ) -> Response:
        if not is_htmx(request):
            return Redirect(back, status_code=303)
        names = await talk_views.names_for(principal.customer_id, [message])
        html = message_fragments(message, names, principal, new=new)
        return Response(html, media_type="text/html")

    async def _header(self, request: Request, principal: Principal, talk_id: str) -> Response:
        if not is_htmx(request):
            return Redirect(f"/talks/{talk_id}", status_code=303)
        context = await header_context(principal, talk_id)
        return Template("partials/talk_header.html", context={**context, "oob": True})
