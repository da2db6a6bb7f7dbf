"""Who is at the desk: the session cookie (`token`, the same JWT the API accepts),
sign-in and sign-out pages, and what an expired session does (back to the sign-in page;
htmx requests are told to go there with `HX-Redirect`)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from msgspec import Struct

from app.api.auth import client_address
from app.domain.errors import ServiceError, Unauthenticated
from app.domain.principal import Principal
from app.services import auth
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
    """Only a path on this site: never send someone off-site after signing in."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


class LoginForm(Struct, kw_only=True):
    username: str = ""
    password: str = ""
    next: str = "/"


@get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> Template:
    return Template("login.html", context={"next": _safe_next(next), "error": None})


@post("/login", include_in_schema=False, status_code=303)
async def login_submit(
    request: Request,
    settings: Settings,
    data: LoginForm = Body(media_type=RequestEncodingType.URL_ENCODED),
) -> Response:
    try:
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
                "next": _safe_next(data.next),
                "error": exc.message,
                "username": data.username,
            },
            status_code=exc.status_code,
            headers=exc.headers,  # Retry-After, when throttled
        )
    response = Redirect(_safe_next(data.next), status_code=303)
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
