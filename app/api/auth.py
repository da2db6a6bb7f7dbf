"""Sign-in, and the `principal` dependency that authenticates every API request.

A caller presents one credential, looked for in this order: the `Authorization` header
(`Bearer <jwt>` or `AccessKey <key>`), the `token` or `accesskey` query parameter, then
the `token` cookie.
"""

from __future__ import annotations

from litestar import Request, post
from litestar.connection import ASGIConnection
from litestar.di import Provide

from app.api.openapi import answers
from app.domain.errors import TooManyRequests, Unauthenticated
from app.domain.principal import Principal
from app.domain.resources import LoginInput, LoginResult
from app.services import auth
from app.settings import Settings


async def provide_principal(request: Request, settings: Settings) -> Principal:
    principal, _ = await authenticate(request, settings)
    return principal


async def authenticate(connection: ASGIConnection, settings: Settings) -> tuple[Principal, bool]:
    """The caller of an HTTP request or websocket, and whether it came by the cookie (which
    a browser sends by itself, so websockets must then check the Origin)."""
    principal, by_cookie = await _credential(connection, settings.require_secret_key())
    return principal, by_cookie


async def _credential(request: ASGIConnection, secret: str) -> tuple[Principal, bool]:
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
    raise Unauthenticated(
        "unauthenticated", "Sign in first: send a token or an access key with the request."
    )


PRINCIPAL = {"principal": Provide(provide_principal)}


@post(
    "/auth/login",
    tags=["auth"],
    summary="Sign in and get a token",
    status_code=200,
    opt=answers(Unauthenticated, TooManyRequests),
)
async def login(data: LoginInput, settings: Settings) -> LoginResult:
    """Sign in with an agent's username (any case) and password. The answer's `token` (a
    JWT, valid for a day unless the server is configured otherwise) authenticates API
    calls and websockets. A wrong username or password is a `401`; too many failed
    attempts answer `429` with `Retry-After`."""
    return await auth.login(
        data.username,
        data.password,
        secret_key=settings.require_secret_key(),
        ttl_seconds=settings.token_ttl_seconds,
    )
