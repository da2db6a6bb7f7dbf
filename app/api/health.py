"""`GET /healthz`: for load balancers and the process supervisor; no auth."""

from __future__ import annotations

from litestar import MediaType, Response, get

from app.services.health import database_ok


@get("/healthz", tags=["health"], media_type=MediaType.JSON, summary="Liveness and database")
async def healthz() -> Response[dict[str, str]]:
    ok = await database_ok()
    return Response(
        {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
        status_code=200 if ok else 503,
    )
