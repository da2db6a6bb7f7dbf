"""Who is at the desk: the session cookie (`token`, the same JWT the API accepts),
sign-in and sign-out pages, and what an expired session does (back to the sign-in page;
htmx requests are told to go there with `HX-Redirect`)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.api.auth import client_address
from app.desk import forms
from app.domain.errors import ServiceError, Unauthenticated
from app.domain.principal import Principal
from app.domain.resources import LoginInput
from app.domain.text import strip_unstorable, unstorable_char
from app.people import auth
from app.routing import availability
from app.settings import Settings

COOKIE = "token"


class NotSignedIn(Exception):
    """Raised by `desk_principal`; turned into a redirect to the sign-in page."""


async def desk_principal(request: Request, settings: Settings) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn()
    try:
        return await auth.authenticate_token(token, settings.require_secret_key())
    except Unauthenticated:
        raise NotSignedIn() from None


DESK_PRINCIPAL = {"principal": Provide(desk_principal)}


def to_sign_in(request: Request, _: NotSignedIn) -> Response:
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        target += "?next=" + quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    if request.headers.get("hx-request"):
        return Response(None, status_code=204, headers={"HX-Redirect": target})
    response = Redirect(target, status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never send someone off-site after signing in (nor
    anywhere through a control character, which a Location header cannot carry)."""
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or unstorable_char(value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


@get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> Template:
    return Template("login.html", context={"next": _safe_next(next), "error": None})


@post("/login", include_in_schema=False, status_code=303)
async def login_submit(request: Request, settings: Settings) -> Response:
    typed = {"username": "", "password": "", "next": "/"}
    try:
        form = await forms.read_form(request)
        typed.update({k: v for k in typed if isinstance(v := form.get(k), str)})
        data = forms.convert(
            {"username": typed["username"], "password": typed["password"]}, LoginInput
        )
        result = await auth.login(
            data.username,
            data.password,
            address=client_address(request),
            secret_key=settings.require_secret_key(),
            ttl_seconds=settings.token_ttl_seconds,
        )
    except ServiceError as exc:
        return Template(
            "login.html",
            context={
                "next": _safe_next(typed["next"]),
                "error": exc.message,
                # shown again in the input: never a character the page cannot carry
                "username": strip_unstorable(typed["username"])[:255],
            },
            status_code=exc.status_code,
            headers=exc.headers,  # Retry-After, when throttled
        )
    # the desk's sign-in makes the agent what its profile says (online, away or offline)
    await availability.desk_signed_in(
        await auth.authenticate_token(result.token, settings.require_secret_key())
    )
    response = Redirect(_safe_next(typed["next"]), status_code=303)
    response.set_cookie(
        COOKIE,
        result.token,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        max_age=settings.token_ttl_seconds,
        path="/",
    )
    return response


@post("/logout", include_in_schema=False, status_code=303)
async def logout() -> Response:
    response = Redirect("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
