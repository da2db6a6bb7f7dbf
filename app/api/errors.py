"""The error envelope, request ids, and the checks every request gets before a handler.

Every error leaves as
    {"error": {"status": "NOT_FOUND", "reason": "agent_not_found", "message": "...",
               "request_id": "..."}}
and every response carries `X-Request-Id`; the same id is in the log line of the request,
so a user's bug report can be matched to the log.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import ServiceError

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


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
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
    return envelope(request, exc.status_code, exc.reason, exc.message, headers=exc.headers)


_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


def _fields(exc: ValidationException) -> list[dict[str, str]]:
    fields = []
    for d in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(d, dict):
            continue
        message = str(d.get("message", ""))
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


def _http_error(request: Request, exc: HTTPException) -> Response:
    code = exc.status_code
    reason = "malformed_json" if isinstance(exc, MalformedJson) else None
    reason = reason or DEFAULT_REASONS.get(code, "http_error")
    message = exc.detail or STATUS_NAMES.get(code, "error")
    if code == 413:
        message = "The request body is too large."
    headers = dict(exc.headers or {})
    return envelope(request, code, reason, message, headers=headers)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception(
        "request %s %s failed (request_id=%s)",
        request.method,
        request.url.path,
        request_id_of(request.scope),
    )
    return envelope(request, 500, "internal_error", "Something went wrong on our side.")


EXCEPTION_HANDLERS = {
    ServiceError: _service_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}


class RequestTimer:
    """Notes when a request started, for the log line `stamp_response` writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["started"] = time.perf_counter()
        request_id_of(scope)
        await self.app(scope, receive, send)


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
    )


class UnsupportedMediaType(HTTPException):
    status_code = 415


class MalformedJson(HTTPException):
    status_code = 400


async def require_json_body(request: Request) -> None:
    """API writes must say they send JSON and send JSON that parses: a form or text body
    gets a clear 415 and broken JSON a 400 `malformed_json`, before any handler runs.
    (Litestar caches the body, so the handler does not read it twice.)"""
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
    if body.strip():
        try:
            msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise MalformedJson(detail=f"The request body is not valid JSON: {exc}.") from None
