"""Request latency by route template: a `before_send` hook, installed only when metrics are
on (CONVODESK_METRICS_TOKEN set), so a process nobody scrapes pays nothing for it."""

from __future__ import annotations

import time

from litestar.types import Message, Scope

from app.metrics.instruments import observe_request


async def record_response(message: Message, scope: Scope) -> None:
    """At a response's start: the time since the request arrived (noted by the request
    timer), under the matched route's template (`/v1.0/conversations/{conversation_id}`).
    Websockets are not timed (a socket's life is not a latency), nor a request that matched
    no route: Litestar answers those before any middleware notes a start."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    started = scope.get("state", {}).get("started")
    if started is None:
        return
    observe_request(
        str(scope.get("method", "")),
        scope.get("path_template") or "unmatched",
        message["status"],
        time.perf_counter() - started,
    )
