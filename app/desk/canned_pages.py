"""Canned replies in the desk: the composer's list as the agent types `/` (a fragment the
JS in static/js/canned.js asks for on each key), the agent's own replies (`/canned`) and
the shared ones for admins (`/admin/canned`). Every rule is in `app.canned.service`, the
code the API calls; this module reads forms and picks templates. The two management pages
work without JavaScript (plain forms that redirect back)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.canned import service
from app.conversations import service as conversations
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import admin_context, form_text, page_router
from app.desk.forms import convert
from app.desk.session import DESK_PRINCIPAL
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.domain.principal import Principal
from app.domain.resources import CannedResponseCreate, CannedResponseOut, CannedResponseUpdate
from app.domain.variables import VARIABLES, fill_html
from app.people import agents

LABELS = {"shortcut": "The shortcut", "text": "The text", "name": "The name"}
FIELDS = ("shortcut", "name", "text")


async def _all(principal: Principal, scope: str) -> list[CannedResponseOut]:
    """Every reply of the scope (pages of 100 until the end), by shortcut."""
    found, token = await service.list_page(principal, scope=scope)
    while token:
        more, token = await service.list_page(principal, scope=scope, page_token=token)
        found.extend(more)
    return sorted(found, key=lambda c: c.shortcut)


class _Scope:
    """What differs between the agent's own page and the admins' shared one."""

    def __init__(self, scope: str, base: str, template: str) -> None:
        self.scope, self.base, self.template = scope, base, template


PERSONAL = _Scope("personal", "/canned", "canned.html")
SHARED = _Scope("shared", "/admin/canned", "admin/canned.html")


async def _page(
    principal: Principal,
    where: _Scope,
    *,
    saved: str = "",
    error: str = "",
    error_id: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    context: dict[str, Any] = {
        "replies": await _all(principal, where.scope),
        "base": where.base,
        "shared": where.scope == "shared",
        "saved": saved,
        "error": error,
        "error_id": error_id,
        "typed": typed or dict.fromkeys(FIELDS, ""),
        "variables": VARIABLES,
    }
    if where is SHARED:
        context = await admin_context(principal, "canned", **context)
    else:
        context.update(
            principal=principal,
            me_name=await agents.display_name(principal),
            nav_active="profile",
            shared_count=len(await _all(principal, "shared")),
        )
    return Template(where.template, context=context, status_code=status_code)


def _refused(exc: ServiceError) -> bool:
    """Not the form's fault (not allowed, gone): the error page says so."""
    return exc.status_code in (401, 403, 404)


async def _create(request: Request, principal: Principal, where: _Scope) -> Response:
    form = await request.form()
    typed = {k: form_text(form, k) for k in FIELDS}
    text = form.get("text")  # as typed: leading spaces and blank lines are the author's
    typed["text"] = text if isinstance(text, str) else ""
    body: dict[str, Any] = dict(typed)
    if where is SHARED:
        body["owner_id"] = None
    try:
        made = await service.create(principal, convert(body, CannedResponseCreate, LABELS))
    except (InvalidInput, ServiceError) as exc:
        if _refused(exc):
            raise
        return await _page(
            principal,
            where,
            error=exc.message,
            error_id="new",
            typed=typed,
            status_code=exc.status_code,
        )
    return Redirect(f"{where.base}?saved={made.shortcut}", status_code=303)


async def _update(
    request: Request, principal: Principal, where: _Scope, canned_id: str
) -> Response:
    form = await request.form()
    text = form.get("text")
    body = {
        "shortcut": form_text(form, "shortcut"),
        "name": form_text(form, "name"),
        "text": text if isinstance(text, str) else "",
    }
    await _in_scope(principal, where, canned_id)
    try:
        done = await service.update(
            principal, canned_id, convert(body, CannedResponseUpdate, LABELS)
        )
    except (InvalidInput, ServiceError) as exc:
        if _refused(exc):
            raise
        return await _page(
            principal, where, error=exc.message, error_id=canned_id, status_code=exc.status_code
        )
    return Redirect(f"{where.base}?saved={done.shortcut}", status_code=303)


async def _in_scope(principal: Principal, where: _Scope, canned_id: str) -> None:
    """A page changes only its own scope's replies (a shared one is not edited from
    /canned even by an admin: the admin page is where shared replies are managed)."""
    reply = await service.get(principal, canned_id)
    if (reply.owner_id is None) != (where is SHARED):
        raise NotFound("canned_response_not_found", "There is no such canned response.")


class CannedController(Controller):
    """`/canned`: the agent's own replies, and the composer's lookup."""

    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/")
    async def canned_page(self, principal: Principal, saved: str = "") -> Template:
        return await _page(principal, PERSONAL, saved=saved[:64])

    @get("/lookup")
    async def lookup(
        self, principal: Principal, q: str = "", conversation_id: str = ""
    ) -> Template:
        """The composer's list for `/q` in a room: the agent's own and the shared replies
        whose shortcut or name starts with `q`, each with its text filled for the room
        (escaped by the template: a contact's name is never markup)."""
        room = await conversations.get_room(principal, conversation_id) if conversation_id else None
        found = [
            {"reply": s.reply, "filled": s.filled, "preview": fill_html(s.reply.text, s.values)}
            if s.values
            else {"reply": s.reply, "filled": s.filled, "preview": s.reply.text}
            for s in await service.lookup(principal, q[:64], room)
        ]
        return Template("partials/canned_list.html", context={"suggestions": found, "q": q[:64]})

    @post("/")
    async def create(self, request: Request, principal: Principal) -> Response:
        return await _create(request, principal, PERSONAL)

    @post("/{canned_id:str}")
    async def update(self, request: Request, principal: Principal, canned_id: str) -> Response:
        return await _update(request, principal, PERSONAL, canned_id)

    @post("/{canned_id:str}/delete")
    async def delete(self, principal: Principal, canned_id: str) -> Response:
        await _in_scope(principal, PERSONAL, canned_id)
        await service.delete(principal, canned_id)
        return Redirect("/canned?saved=deleted", status_code=303)


class SharedCannedController(Controller):
    """`/admin/canned`: the shared replies, for admins."""

    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def shared_page(self, principal: Principal, saved: str = "") -> Template:
        return await _page(principal, SHARED, saved=saved[:64])

    @post("/")
    async def create(self, request: Request, principal: Principal) -> Response:
        return await _create(request, principal, SHARED)

    @post("/{canned_id:str}")
    async def update(self, request: Request, principal: Principal, canned_id: str) -> Response:
        return await _update(request, principal, SHARED, canned_id)

    @post("/{canned_id:str}/delete")
    async def delete(self, principal: Principal, canned_id: str) -> Response:
        await _in_scope(principal, SHARED, canned_id)
        await service.delete(principal, canned_id)
        return Redirect("/admin/canned?saved=deleted", status_code=303)


ROUTES: list = [
    page_router("/canned", CannedController),
    page_router("/admin/canned", SharedCannedController),
]
