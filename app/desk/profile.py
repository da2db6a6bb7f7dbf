"""My profile (`/profile`): every agent's own name, default availability and password.
The same service functions as `PUT /v1.0/me` and `PUT /v1.0/me/password`; this module
reads forms and picks templates. Works without JavaScript (forms that redirect back)."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from app.api.auth import client_address
from app.desk.admin_kit import form_text, page_router
from app.desk.forms import FormRefused, convert
from app.desk.render import is_htmx
from app.desk.session import DESK_PRINCIPAL
from app.domain.enums import Availability
from app.domain.errors import InvalidInput, TooManyRequests
from app.domain.principal import Principal
from app.domain.resources import MeUpdate, PasswordChange
from app.people import agents
from app.routing import availability

AVAILABILITY = [
    (Availability.ONLINE.value, "Online", "Routing gives you conversations."),
    (Availability.AWAY.value, "Away", "You keep yours; routing gives you no new ones."),
    (Availability.OFFLINE.value, "Offline", "As away, and teammates see you are not in."),
]
LABELS = {
    "name": "Your name",
    "default_availability": "The availability",
    "current_password": "The current password",
    "password": "The new password",
    "signature": "Your signature",
}


async def _page(
    principal: Principal,
    *,
    saved: str = "",
    profile_error: str = "",
    password_error: str = "",
    password_field: str = "",
    typed_name: str | None = None,
    status_code: int = 200,
) -> Template:
    me = await agents.get_me(principal)
    context = {
        "principal": principal,
        "me_name": me.name or me.username,
        "nav_active": "profile",
        "me": me,
        "me_availability": getattr(me, "availability", ""),
        "name": me.name if typed_name is None else typed_name,
        "availability_choices": AVAILABILITY,
        "saved": saved,
        "profile_error": profile_error,
        "password_error": password_error,
        "password_field": password_field,
    }
    return Template("profile.html", context=context, status_code=status_code)


class ProfileController(Controller):
    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/")
    async def profile_page(self, principal: Principal, saved: str = "") -> Template:
        return await _page(principal, saved=saved if saved in ("profile", "password") else "")

    @post("/")
    async def save_profile(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        name = form_text(form, "name")
        availability = form_text(form, "default_availability")
        # absent (an older form): the signature stays; present and empty: none
        signature = form.get("signature")
        try:
            data = convert(
                {
                    "name": name,
                    "default_availability": availability or None,
                    "signature": signature if isinstance(signature, str) else None,
                },
                MeUpdate,
                LABELS,
            )
            await agents.update_me(principal, data)
        except InvalidInput as exc:
            return await _page(
                principal, profile_error=exc.message, typed_name=name, status_code=422
            )
        return Redirect("/profile?saved=profile", status_code=303)

    @post("/password")
    async def change_password(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        current = form.get("current_password")
        new, again = form.get("password"), form.get("password_again")
        try:
            if not isinstance(current, str) or not current:
                raise FormRefused(
                    "invalid_form", "Enter your current password.", "current_password"
                )
            if not isinstance(new, str) or new != again:
                raise FormRefused("invalid_form", "The new passwords do not match.", "password")
            data = convert({"current_password": current, "password": new}, PasswordChange, LABELS)
            await agents.change_password(principal, data, address=client_address(request))
        except (InvalidInput, TooManyRequests) as exc:
            field = getattr(exc, "field", "") or (
                "current_password" if exc.reason == "wrong_password" else ""
            )
            return await _page(
                principal,
                password_error=exc.message,
                password_field=field,
                status_code=exc.status_code,
            )
        return Redirect("/profile?saved=password", status_code=303)

    @get("/switch")
    async def availability_switch(self, principal: Principal) -> Template:
        """The rail's availability switch (pages that do not render it load it once)."""
        return await _switch(principal)

    @post("/availability")
    async def set_availability(self, request: Request, principal: Principal) -> Response:
        """The rail's switch: online, away or offline (the service `PUT
        /v1.0/me/availability` calls; every desk hears it live)."""
        form = await request.form()
        value = form_text(form, "availability")
        if value not in {a.value for a in Availability}:
            raise InvalidInput("invalid_availability", "Choose online, away or offline.")
        await availability.set_own(principal, Availability(value))
        if not is_htmx(request):
            back = request.headers.get("referer", "")
            return Redirect(_same_site(back, request) or "/", status_code=303)
        return await _switch(principal)


async def _switch(principal: Principal, *, oob: bool = False) -> Template:
    me = await agents.get_me(principal)
    return Template(
        "partials/me_switch.html",
        context={
            "principal": principal,
            "me_name": me.name or me.username,
            "me_availability": me.availability,
            "oob": oob,
        },
    )


def _same_site(url: str, request: Request) -> str:
    """Back to the page the switch was on, when it is one of ours."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.url.netloc:
        return ""
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "") if path.startswith("/") else ""


ROUTES: list = [page_router("/profile", ProfileController)]
