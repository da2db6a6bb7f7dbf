"""`/macros`: an agent's own macros (create, edit, delete) and, read-only, the shared ones
it may also apply.

Every rule is in `automation.service`, the code `/v1.0/macros` calls: a macro made here
is the agent's (`owner_id` = the agent), it may send the agent's own canned replies or
the shared ones, and another agent's macro does not exist for it (404). The action rows
and their readers are Admin → Automation's (`admin_automation`), so both forms say the
same things in the same words. Works without JavaScript (plain forms that redirect back);
static/js/automation.js adds and removes rows.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from app.automation import service
from app.desk.admin_automation import (
    LABELS,
    actions,
    choices,
    macro_form_context,
    refused,
    typed_actions,
)
from app.desk.admin_kit import form_text, page_router
from app.desk.forms import convert
from app.desk.session import DESK_PRINCIPAL
from app.domain.automation import MacroCreate, MacroOut, MacroUpdate
from app.domain.errors import NotFound, ServiceError
from app.domain.principal import Principal
from app.people import agents


async def _context(principal: Principal, **extra: Any) -> dict[str, Any]:
    # the agent's own canned replies are choices too: its macro runs as the agent
    return {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "profile",
        **await choices(principal, canned_scope="all"),
        **extra,
    }


async def _macros(principal: Principal) -> tuple[list[MacroOut], list[MacroOut]]:
    """(the agent's own, the shared), each by name."""
    found, token = await service.list_macros(principal, 100, None)
    while token:
        more, token = await service.list_macros(principal, 100, token)
        found.extend(more)
    found.sort(key=lambda m: m.name.lower())
    return [m for m in found if m.owner_id], [m for m in found if m.owner_id is None]


async def _own(principal: Principal, macro_id: str) -> MacroOut:
    """The agent's own macro: a shared one is changed on Admin → Automation, even by an
    admin, so this page never edits it (another agent's is already a 404 from the
    service)."""
    macro = await service.get_macro(principal, macro_id)
    if macro.owner_id is None:
        raise NotFound("macro_not_found", "There is no such macro of yours.")
    return macro


async def _form(
    principal: Principal,
    *,
    macro: MacroOut | None = None,
    typed: dict[str, Any] | None = None,
    exc: ServiceError | None = None,
) -> Template:
    context = await _context(principal, **macro_form_context(macro, typed, exc))
    status = exc.status_code if exc else 200
    return Template("macro_form.html", context=context, status_code=status)


def _typed(form: Any) -> dict[str, Any]:
    return {"name": form_text(form, "name"), "actions": typed_actions(form)}


def _back(**query: str) -> Redirect:
    saved = query.get("saved", "")
    where = "/macros" + (f"?saved={saved}#macro-{saved}" if saved else "?saved=deleted")
    return Redirect(where, status_code=303)


class MyMacrosController(Controller):
    """The agent's own macros: any signed-in agent."""

    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/")
    async def macros_page(self, principal: Principal, saved: str = "") -> Template:
        mine, shared = await _macros(principal)
        context = await _context(principal, mine=mine, shared=shared, saved=saved[:64])
        return Template("macros.html", context=context)

    @get("/new")
    async def new_macro(self, principal: Principal) -> Template:
        return await _form(principal)

    @post("/")
    async def create_macro(self, request: Request, principal: Principal) -> Response:
        typed = _typed(await request.form())
        try:
            body = {"name": typed["name"], "actions": actions(typed["actions"])}
            # no owner_id: the service makes it the signed-in agent's
            macro = await service.create_macro(principal, convert(body, MacroCreate, LABELS))
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _form(principal, typed=typed, exc=exc)
        return _back(saved=macro.id)

    @get("/{macro_id:str}")
    async def edit_macro(self, principal: Principal, macro_id: str) -> Template:
        return await _form(principal, macro=await _own(principal, macro_id))

    @post("/{macro_id:str}")
    async def save_macro(self, request: Request, principal: Principal, macro_id: str) -> Response:
        macro = await _own(principal, macro_id)
        typed = _typed(await request.form())
        try:
            body = {"name": typed["name"], "actions": actions(typed["actions"])}
            await service.update_macro(principal, macro.id, convert(body, MacroUpdate, LABELS))
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _form(principal, macro=macro, typed=typed, exc=exc)
        return _back(saved=macro.id)

    @post("/{macro_id:str}/delete")
    async def delete_macro(self, principal: Principal, macro_id: str) -> Response:
        macro = await _own(principal, macro_id)
        await service.delete_macro(principal, macro.id)
        return _back()


ROUTES: list = [page_router("/macros", MyMacrosController)]
