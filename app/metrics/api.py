"""`GET /metrics`: Prometheus's scrape endpoint, behind its own bearer token."""

from __future__ import annotations

from litestar import Request, Response, get

from app.core.hub import Hub
from app.metrics import scrape
from app.settings import Settings


@get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: Settings, hub: Hub) -> Response[bytes]:
    """Not in the OpenAPI document: it is for the operator's monitoring, not for API
    clients, and its credential is not an agent's (docs/API.md documents it)."""
    scrape.check_token(settings.metrics_token, request.headers.get("authorization"))
    body = await scrape.exposition(hub)
    return Response(body, media_type=scrape.CONTENT_TYPE)
