"""Query parameters several API lists share, defined once so they read the same everywhere
(and in the OpenAPI document)."""

from __future__ import annotations

from litestar.params import Parameter

from app.core.pagination import MAX_PAGE_SIZE

PAGE_SIZE = Parameter(
    default=MAX_PAGE_SIZE,
    ge=1,
    le=MAX_PAGE_SIZE,
    description=f"How many items per page, 1 to {MAX_PAGE_SIZE}.",
)
PAGE_TOKEN = Parameter(
    default=None,
    description="The `next_page_token` of the page before; omitted for the first page.",
)
