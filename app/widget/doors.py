"""The web chat widget's doors, `/widget/{account_id}/…`, called from the customer's own
website (another origin) by static/widget/widget.js:

    GET  widget.js        the script, with the account's look and our address built in
    GET  config           the same settings as JSON
    POST session          a new visitor, or the one the X-Widget-Token names  → {visitor_id, token}
    GET  messages         the visitor's history and the event id it is current up to
    POST messages         {text, client_id} → the stored message (a resend is stored once)
    POST identify         {name, email}: the visitor's email joins their room
    POST csat             {survey_id, rating, comment}: the satisfaction survey's card
    WS   ws               live messages (app/widget/ws.py)

No cookies (a third-party page would not send them anyway): the visitor's token travels
in the `X-Widget-Token` header. CORS: the account's `allowed_origins` decides which pages
may call (any, when empty); an allowed page gets `Access-Control-Allow-Origin` on every
answer, errors included, so the widget can read a 401 and start a new session.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec
from litestar import Request, Response, Router, get, post, route
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import MalformedJson, UnsupportedMediaType
from app.channels.account_store import AccountRow
from app.domain import storable
from app.widget import service as widget
from app.widget.ws import widget_websocket

T = TypeVar("T")
SCRIPT = Path(__file__).resolve().parent.parent.parent / "static" / "widget" / "widget.js"
TOKEN_HEADER = "x-widget-token"
_ORIGIN_STATE = "widget_origin"
_PLACEHOLDER = "__CONVODESK_WIDGET_CONFIG__"


class MessageIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=widget.MAX_TEXT)]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class IdentifyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]


class RatingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    survey_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class AllowOrigin:
    """Adds the CORS answer to every response for a page the account allows (the `account`
    dependency records the origin once it has checked it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                origin = scope.get("state", {}).get(_ORIGIN_STATE)
                headers = list(message.get("headers", []))
                headers.append((b"vary", b"Origin"))
                if origin:
                    headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


async def _account(request: Request, account_id: str) -> AccountRow:
    origin = request.headers.get("origin")
    account = await widget.open_account(account_id, origin)
    if origin:
        request.scope.setdefault("state", {})[_ORIGIN_STATE] = origin
    return account


async def _visitor(request: Request, account: AccountRow) -> str:
    return widget.visitor_of(account, request.headers.get(TOKEN_HEADER))


_VISITOR = {"account": Provide(_account), "visitor_id": Provide(_visitor)}


@functools.cache
def _script_source() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def _script(config: dict[str, str]) -> str:
    # JSON is a JS expression; `<` is escaped so the text is safe wherever it is put.
    literal = msgspec.json.encode(config).decode().replace("<", "\\u003c")
    return _script_source().replace(_PLACEHOLDER, literal, 1)


@get("/{account_id:str}/widget.js", dependencies={"account": Provide(_account)})
async def widget_script(account: AccountRow) -> Response[str]:
    return Response(
        _script(widget.widget_config(account)),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@get("/{account_id:str}/config", dependencies={"account": Provide(_account)})
async def widget_config(account: AccountRow) -> dict[str, str]:
    return widget.widget_config(account)


@post("/{account_id:str}/session", status_code=200, dependencies={"account": Provide(_account)})
async def session(request: Request, account: AccountRow) -> widget.Session:
    return widget.start_session(account, request.headers.get(TOKEN_HEADER))


@get("/{account_id:str}/messages", dependencies=_VISITOR)
async def history(account: AccountRow, visitor_id: str) -> widget.History:
    return await widget.history(account, visitor_id)


@post("/{account_id:str}/messages", status_code=201, dependencies=_VISITOR)
async def post_message(
    request: Request, account: AccountRow, visitor_id: str
) -> widget.VisitorMessage:
    data = _body(request, MessageIn)
    # the page the widget runs on (a browser always sends Origin on this cross-site POST)
    page = request.headers.get("origin")
    return await widget.post_message(account, visitor_id, data.text, data.client_id, page)


@post("/{account_id:str}/identify", status_code=200, dependencies=_VISITOR)
async def identify(request: Request, account: AccountRow, visitor_id: str) -> widget.Identity:
    data = _body(request, IdentifyIn)
    page = request.headers.get("origin")
    return await widget.identify(account, visitor_id, data.name, data.email, page)


@post("/{account_id:str}/csat", status_code=200, dependencies=_VISITOR)
async def rate(request: Request, account: AccountRow, visitor_id: str) -> widget.Rated:
    data = _body(request, RatingIn)
    return await widget.rate(account, visitor_id, data.survey_id, data.rating, data.comment)


# --- bodies: what a visitor's browser sends is read like a provider's ------------------

_BODY_STATE = "widget_body"


async def _read_json(request: Request) -> None:
    """The API's rule for bodies (application/json, else 415; broken JSON, 400), except
    that the JSON is read as a provider's is (domain.storable): a visitor's browser may
    send half an emoji (a lone surrogate escape, which JSON.stringify writes) or U+0000,
    and the message is stored without them rather than refused."""
    if request.method != "POST":
        return
    body = await request.body()
    if not body.strip():
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            detail=f"Send the body as application/json (got {media_type or 'no content type'})."
        )
    try:
        request.scope.setdefault("state", {})[_BODY_STATE] = storable.loads(body)
    except storable.MalformedJson:
        raise MalformedJson(detail="The request body is not valid JSON.") from None


def _body(request: Request, kind: type[T]) -> T:
    """The body `_read_json` read, as `kind`; a 422 naming the field otherwise (the same
    envelope as any other body Litestar checks)."""
    value = request.scope.get("state", {}).get(_BODY_STATE)
    if value is None:
        missing = {"message": "'data'", "key": "data", "source": "body"}
        raise ValidationException(detail="This request needs a JSON body.", extra=[missing])
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        found = re.search(r"at `\$\.([^`]+)`", str(exc))
        raise ValidationException(
            detail=str(exc),
            extra=[{"message": str(exc), "key": found.group(1) if found else "", "source": "body"}],
        ) from None


@route(
    [
        "/{account_id:str}/config",
        "/{account_id:str}/session",
        "/{account_id:str}/messages",
        "/{account_id:str}/identify",
        "/{account_id:str}/csat",
    ],
    http_method=["OPTIONS"],
    status_code=204,
    dependencies={"account": Provide(_account)},
    include_in_schema=False,
)
async def preflight(account: AccountRow) -> Response[None]:
    """A browser asks before a cross-site call with a JSON body or our token header; the
    origin was checked by `account` (403 when the page is not allowed)."""
    return Response(
        None,
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Widget-Token",
            "Access-Control-Max-Age": "600",
        },
    )


ROUTES: list = [
    Router(
        path="/widget",
        # `preflight` first: a path's first handler decides whether Litestar adds its own
        # OPTIONS answer (which would know nothing of CORS).
        route_handlers=[
            preflight,
            widget_script,
            widget_config,
            session,
            history,
            post_message,
            identify,
            rate,
        ],
        middleware=[AllowOrigin],
        before_request=_read_json,
        include_in_schema=False,
    ),
    widget_websocket,
]
