"""`GET /healthz`: for load balancers and the process supervisor; no auth."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Response, get
from litestar.openapi import ResponseSpec

from app.core.health import database_ok


class Health(msgspec.Struct, kw_only=True):
    status: str
    """`ok`, or `unavailable` when the database does not answer."""
    database: str
    """`ok` or `unreachable`."""


@get(
    "/healthz",
    tags=["health"],
    media_type=MediaType.JSON,
    summary="Liveness and database",
    responses={503: ResponseSpec(Health, description="The database does not answer")},
)
async def healthz() -> Response[Health]:
    """Whether this process serves and reaches its database: `200` when it does, `503`
    when the database does not answer. Needs no credential."""
    ok = await database_ok()
    return Response(
        Health(status="ok" if ok else "unavailable", database="ok" if ok else "unreachable"),
        status_code=200 if ok else 503,
    )
