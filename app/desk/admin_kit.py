"""What the people admin pages (agents, teams, access keys, the audit log) share: the
admins-only door, the page context every admin page renders with, and a router that
turns refusals into pages or toasts like the other desk routes."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.types import ControllerRouterHandler

from app.desk.forms import check_input
from app.desk.pages import DESK_ERRORS
from app.domain.principal import Principal
from app.people import agents

NO_STORE = {"Cache-Control": "no-store"}
"""On a page that shows a secret once (a new access key, a new password): never cached,
so Back or a shared machine cannot show it again."""


async def admin_context(principal: Principal, section: str, **extra: Any) -> dict[str, Any]:
    """The context every admin page renders with: who is signed in and which admin item
    is the current one (the nav rail and the admin menu mark it)."""
    return {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "admin",
        "admin_section": section,
        **extra,
    }


def page_router(path: str, *handlers: ControllerRouterHandler) -> Router:
    """A router for desk pages under `path`: refusals are pages (or htmx toasts), never
    the API's JSON envelope, and every input is checked for unstorable characters."""
    return Router(
        path=path,
        route_handlers=list(handlers),
        exception_handlers=DESK_ERRORS,
        before_request=check_input,
    )


def form_text(form: Any, name: str) -> str:
    """A form field as text, stripped (absent: ""); length is the service's to refuse,
    in its own words."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
