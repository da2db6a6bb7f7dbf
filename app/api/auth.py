"""Sign-in, and the `principal` dependency that authenticates every API request.

A caller presents one credential, looked for in this order: the `Authorization` header
(`Bearer <jwt>` or `AccessKey <key>`), the `token` or `accesskey` query parameter, the
`token` cookie, then (on `/v1.0/` requests only) the `accesskey` cookie.
"""

from __future__ import annotations

from litestar import Request, post
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.middleware.csrf import CSRFMiddleware

from app.api.openapi import answers
from app.domain.errors import Forbidden, TooManyRequests, Unauthenticated
from app.domain.origins import same_origin
from app.domain.principal import Principal
from app.domain.resources import LoginInput, LoginResult
from app.people import auth
from app.settings import Settings


async def provide_principal(request: Request, settings: Settings) -> Principal:
    principal, by_cookie = await authenticate(request, settings)
    if by_cookie:
        check_csrf(request)
    return principal


def check_csrf(request: Request) -> None:
    """A browser sends the session cookie with any site's request, so a change made by
    cookie alone must also carry the CSRF token (header `x-csrftoken`, matching the
    `csrftoken` cookie) that only our own pages can read: Litestar's double submit,
    verified by Litestar's own middleware code. Token and access-key callers are not
    affected: no browser sends those by itself. Body-less POSTs included."""
    config = request.app.csrf_config
    if config is None or request.method in config.safe_methods:
        return
    sent, cookie = request.headers.get(config.header_name), request.cookies.get(config.cookie_name)
    if not sent or not cookie:
        raise Forbidden(
            "csrf_token_missing",
            f"A request signed in by the session cookie must send the CSRF token (the"
            f" `{config.cookie_name}` cookie) in the `{config.header_name}` header.",
        )
    if not CSRFMiddleware(app=request.app, config=config)._csrf_tokens_match(sent, cookie):
        raise Forbidden(
            "csrf_token_invalid",
            f"The `{config.header_name}` header does not match the `{config.cookie_name}` cookie.",
        )


async def authenticate(connection: ASGIConnection, settings: Settings) -> tuple[Principal, bool]:
    """The caller of an HTTP request or websocket, and whether it came by the cookie (which
    a browser sends by itself, so websockets must then check the Origin)."""
    principal, by_cookie = await _credential(
        connection, settings.require_secret_key(), settings.public_url
    )
    return principal, by_cookie


async def _credential(
    request: ASGIConnection, secret: str, public_url: str = ""
) -> tuple[Principal, bool]:
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, value = header.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and value:
            return await auth.authenticate_token(value, secret), False
        if scheme == "accesskey" and value:
            return await auth.authenticate_access_key(value), False
        raise Unauthenticated(
            "invalid_authorization_header",
            "Use 'Authorization: Bearer <token>' or 'Authorization: AccessKey <key>'.",
        )
    if token := request.query_params.get("token"):
        return await auth.authenticate_token(token, secret), False
    if key := request.query_params.get("accesskey"):
        return await auth.authenticate_access_key(key), False
    if token := request.cookies.get("token"):
        return await auth.authenticate_token(token, secret), True
    if (key := request.cookies.get("accesskey")) and request.url.path.startswith("/v1.0/"):
        # VoIPBIN's clients send their key as this cookie by default. Convodesk never sets
        # it, so a browser holds it only if its user put it there; a request from another
        # site's page (an Origin that is not ours) is refused all the same (CSRF). Such
        # clients send no CSRF token, so the desk's double submit is not asked for.
        if not _same_site_or_program(request, public_url):
            raise Forbidden(
                "cross_site_request",
                "A request from another site's page cannot use the accesskey cookie.",
            )
        return await auth.authenticate_access_key(key), request.scope["type"] == "websocket"
    raise Unauthenticated(
        "unauthenticated", "Sign in first: send a token or an access key with the request."
    )


def _same_site_or_program(request: ASGIConnection, public_url: str) -> bool:
    """No Origin (a program, or a browser's plain navigation) or one of our own origins.
    Websockets are left to their door, which checks the Origin of anything sent by a
    cookie (`by_cookie`)."""
    origin = request.headers.get("origin")
    if not origin or request.scope["type"] == "websocket":
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return same_origin(origin, own) or same_origin(origin, public_url)


PRINCIPAL = {"principal": Provide(provide_principal)}


def client_address(connection: ASGIConnection) -> str:
    """Who is calling, for the sign-in limits: the connection's peer as the ASGI server
    reports it. Behind a reverse proxy that is the proxy, unless the server is told to trust
    its `X-Forwarded-For` (uvicorn: `FORWARDED_ALLOW_IPS`, 127.0.0.1 by default)."""
    return connection.client.host if connection.client else ""


@post(
    "/auth/login",
    tags=["auth"],
    summary="Sign in and get a token",
    status_code=200,
    opt=answers(Unauthenticated, Forbidden, TooManyRequests),
)
async def login(request: Request, data: LoginInput, settings: Settings) -> LoginResult:
    """Sign in with an agent's username (any case) and password. The answer's `token` (a
    JWT, valid for a day unless the server is configured otherwise) authenticates API
    calls and websockets. A wrong username or password is a `401`; the right password of
    a deactivated agent is a `403` (`agent_deactivated`); too many failed attempts answer
    `429` with `Retry-After`."""
    return await auth.login(
        data.username,
        data.password,
        address=client_address(request),
        secret_key=settings.require_secret_key(),
        ttl_seconds=settings.token_ttl_seconds,
    )
