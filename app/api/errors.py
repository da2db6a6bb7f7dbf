"""The error envelope, request ids, and the checks every request gets before a handler.

Every error leaves as
    {"error": {"status": "NOT_FOUND", "reason": "agent_not_found", "message": "...",
               "request_id": "..."}}
and every response carries `X-Request-Id`; the same id is in the log line of the request,
so a user's bug report can be matched to the log.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from litestar.types import ASGIApp, ExceptionHandlersMap, Message, Receive, Scope, Send

from app.domain.errors import BadRequest, InvalidInput, ServiceError
from app.domain.resources import UUID_PATTERN
from app.domain.text import MAX_DEPTH, TooDeep, find_unstorable, printable, unstorable_char
from app.logs import REQUEST_ID

log = logging.getLogger("convodesk.http")

STATUS_NAMES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

DEFAULT_REASONS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
"""An `X-Request-ID` a client (or a proxy in front) sends is kept when it looks like an id:
a short run of token characters. Anything else (spaces, quotes, line breaks, a kilobyte)
could forge or break log lines, and gets an id of our own instead."""


def _given_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value.decode("ascii") if _SANE_REQUEST_ID.fullmatch(value) else None
    return None


def request_id_of(scope: Scope) -> str:
    """The request's id: the client's sane `X-Request-ID`, else one made here; the same
    for the whole request."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = _given_request_id(scope) or uuid.uuid4().hex
    return state["request_id"]


def envelope(
    request: Request,
    status_code: int,
    reason: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "status": STATUS_NAMES.get(status_code, f"HTTP_{status_code}"),
        "reason": reason,
        "message": message,
        "request_id": request_id_of(request.scope),
    }
    if extra:
        body.update(extra)
    return Response(
        {"error": body}, status_code=status_code, media_type=MediaType.JSON, headers=headers
    )


def _service_error(request: Request, exc: ServiceError) -> Response:
    extra = {"fields": exc.fields} if exc.fields else None
    return envelope(
        request, exc.status_code, exc.reason, exc.message, headers=exc.headers, extra=extra
    )


_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


# msgspec words a pattern mismatch with the pattern itself; for ids, say what is meant.
_PLAIN_WORDS = {f"Expected `str` matching regex {UUID_PATTERN!r}": "Expected a UUID"}


def _fields(exc: ValidationException) -> list[dict[str, str]]:
    fields = []
    for d in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(d, dict):
            continue
        message = str(d.get("message", ""))
        message = _PLAIN_WORDS.get(message, message)
        key = str(d.get("key") or "")
        if key == "data":  # the body as a whole: name the field the message is about
            found = _FIELD_IN_MESSAGE.search(message)
            key = found.group(1) if found else ""
        fields.append({"field": key, "message": message, "source": str(d.get("source", ""))})
    return fields


def _validation_error(request: Request, exc: ValidationException) -> Response:
    """Litestar reports bad bodies and bad query parameters alike; a body that breaks the
    schema is a 422 naming each field, a bad parameter a 400."""
    fields = _fields(exc)
    if any(f["message"] == "'data'" for f in fields):
        return envelope(request, 400, "missing_body", "This request needs a JSON body.")
    in_body = any(f["source"] == "body" or f["field"] in ("", "data") for f in fields)
    listed = [{"field": f["field"], "message": f["message"]} for f in fields]
    message = "; ".join(
        f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in listed
    )
    if in_body or not fields:
        return envelope(
            request, 422, "invalid_body", message or exc.detail, extra={"fields": listed}
        )
    return envelope(request, 400, "invalid_parameter", message, extra={"fields": listed})


_BODY_PATH = re.compile(r"^(.*) - at `\$\.data\.?([^`]*)`$")


def _misfiled_body_error(exc: HTTPException) -> tuple[str, str] | None:
    """(field, message) when Litestar reported a bad body field as a server error.

    Litestar decides whether a validation error is the client's or a dependency's by the
    field's name, and a body field that shares its name with a dependency (`settings`, as
    in a channel account's `settings`) is taken for the dependency: a 500 for a client's
    mistake. The cause still says where it was: `... - at `$.data.settings``."""
    cause = exc.__cause__
    if not isinstance(exc, InternalServerException) or not isinstance(
        cause, msgspec.ValidationError
    ):
        return None
    found = _BODY_PATH.match(str(cause))
    return (found.group(2), found.group(1)) if found else None


_CLIENT_LEFT = "client disconnected prematurely"
"""Litestar's words when the client goes before its body is in (it hung up, or the slow-body
guard cut it off): the client's doing, never a server error in our log."""


def _http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, InternalServerException) and exc.detail == _CLIENT_LEFT:
        return envelope(
            request, 400, "client_disconnected", "The client left before sending its body."
        )
    if misfiled := _misfiled_body_error(exc):
        field, problem = misfiled
        listed = [{"field": field, "message": problem}]
        return envelope(
            request, 422, "invalid_body", f"{field}: {problem}", extra={"fields": listed}
        )
    code = exc.status_code
    reason = "malformed_json" if isinstance(exc, MalformedJson) else None
    reason = reason or DEFAULT_REASONS.get(code, "http_error")
    message = exc.detail or STATUS_NAMES.get(code, "error")
    if code == 413:
        message = "The request body is too large."
    headers = dict(exc.headers or {})
    return envelope(request, code, reason, message, headers=headers)


def _conflicting_transaction(request: Request, exc: Exception) -> Response:
    """PostgreSQL broke a deadlock (or a serialization conflict) by rolling this request's
    transaction back: nothing was written, and the same request will most likely pass a
    moment later. Routing locks rooms, teams and agents in one documented order, so this is
    rare — but a rare race must still be an answer the client can act on, not a 500."""
    log.warning("request %s %s rolled back: %s", request.method, request.url.path, exc)
    return envelope(
        request,
        503,
        "conflict_retry",
        "The request met a concurrent change and was undone; nothing was saved. Retry it.",
        headers={"Retry-After": "1"},
    )


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception(
        "request %s %s failed (request_id=%s)",
        request.method,
        request.url.path,
        request_id_of(request.scope),
    )
    return envelope(request, 500, "internal_error", "Something went wrong on our side.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ServiceError: _service_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    asyncpg.exceptions.TransactionRollbackError: _conflicting_transaction,
    Exception: _unexpected,
}


class RequestTimer:
    """Notes when a request started, for the log line `stamp_response` writes, and makes
    its id the one every record logged while handling it carries (`logs.REQUEST_ID`).
    Not for websockets: the tasks a socket starts outlive its handshake by hours."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["started"] = time.perf_counter()
        request_id = request_id_of(scope)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_ID.reset(token)


async def stamp_response(message: Message, scope: Scope) -> None:
    """Every HTTP response (404s for unknown routes included, which no middleware sees)
    carries `X-Request-Id`, and is logged once with that id, its status and duration."""
    if message["type"] != "http.response.start":
        return
    rid = request_id_of(scope)
    message.setdefault("headers", [])
    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
    started = scope.get("state", {}).get("started")
    took = f"{(time.perf_counter() - started) * 1000:.1f}ms" if started else "-"
    log.info(
        "%s %s %s %s request_id=%s",
        scope.get("method"),
        scope.get("path"),
        message["status"],
        took,
        rid,
        extra={"request_id": rid},
    )


class UnsupportedMediaType(HTTPException):
    status_code = 415


class MalformedJson(HTTPException):
    status_code = 400


UNSTORABLE = "contains a character that cannot be stored ({char})"


def _refuse_unstorable(reason: str, field: str, char: str) -> InvalidInput:
    problem = UNSTORABLE.format(char=char)
    return InvalidInput(
        reason, f"{field}: {problem}.", fields=[{"field": field, "message": problem}]
    )


def _decode_body(body: bytes) -> Any:
    """The body as JSON, or the error that says what is wrong with it."""
    try:
        return msgspec.json.decode(body)
    except RecursionError:
        raise _too_deep() from None
    except msgspec.DecodeError as exc:
        refused = exc
    # msgspec refuses a lone surrogate escape ("\\ud800") as malformed JSON. The standard
    # library reads it, so the answer can name the field, as for U+0000; it runs only
    # for bodies that failed already.
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        document = None
    if document is not None and (found := find_unstorable(document)):
        raise _refuse_unstorable("invalid_body", *found)
    raise MalformedJson(detail=f"The request body is not valid JSON: {refused}.")


def _too_deep() -> BadRequest:
    return BadRequest(
        "too_deeply_nested",
        f"The request body nests more than {MAX_DEPTH} levels of objects and arrays.",
    )


def _check_parameters(request: Request) -> None:
    """Query and path parameters and headers carry no character PostgreSQL cannot store
    (a percent-encoded `%00` decodes to U+0000; the decoders turn invalid UTF-8, and so
    any surrogate, into U+FFFD)."""
    for name, value in request.query_params.multi_items():
        for text in (name, value):
            if isinstance(text, str) and (char := unstorable_char(text)):
                raise _refuse_unstorable("invalid_character", printable(name), char)
    for name, value in request.path_params.items():
        if isinstance(value, str) and (char := unstorable_char(value)):
            raise _refuse_unstorable("invalid_character", name, char)
    for name, value in request.headers.items():
        if char := unstorable_char(value):
            raise _refuse_unstorable("invalid_character", name, char)


async def check_api_input(request: Request) -> None:
    """Every API request, before its handler: parameters and headers hold only text we can
    store; writes say they send JSON and send JSON that parses (a form or text body gets a
    clear 415, broken JSON a 400 `malformed_json`), nests at most MAX_DEPTH levels (400
    `too_deeply_nested`) and holds no unstorable character in any key or value (422
    naming the field). One check here instead of one per handler; Litestar caches the
    body, so the handler's own parsing reads the same bytes, already known to be shallow."""
    _check_parameters(request)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    has_body = request.headers.get("content-length", "0") not in ("", "0") or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            detail=f"Send the body as application/json (got {media_type or 'no content type'})."
        )
    body = await request.body()
    if not body.strip():
        return
    document = _decode_body(body)
    try:
        found = find_unstorable(document)
    except TooDeep:
        raise _too_deep() from None
    if found:
        raise _refuse_unstorable("invalid_body", *found)
