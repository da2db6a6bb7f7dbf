"""`/hooks/{type}/{account_id}[/{sub}]`: where providers call us. Thin: the request as the
driver needs it goes to `channels.hooks`, and the driver's answer goes back. No token —
each driver checks its provider's signature (401 when it fails)."""

from __future__ import annotations

from litestar import Request, Response, route

from app.channels import HookRequest, hooks
from app.settings import Settings

# Email relays post whole MIME messages, attachments included.
HOOK_MAX_BODY = 30 * 1024 * 1024


async def _hook_request(request: Request, settings: Settings, sub: str) -> HookRequest:
    query = request.scope.get("query_string", b"").decode("latin-1")
    # Providers sign the URL they were given: the public one, not what a proxy passed on.
    url = settings.public_url + request.url.path + (f"?{query}" if query else "")
    return HookRequest(
        method=request.method,
        url=url,
        sub=sub,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=list(request.query_params.items()),
        body=await request.body(),
    )


async def _answer(request: Request, settings: Settings, kind: str, account_id: str, sub: str):
    hook = await _hook_request(request, settings, sub)
    outcome = await hooks.handle(kind, account_id, hook)
    return Response(
        content=outcome.body, status_code=outcome.status_code, media_type=outcome.content_type
    )


@route(
    "/hooks/{kind:str}/{account_id:str}",
    http_method=["GET", "POST"],
    include_in_schema=False,
    request_max_body_size=HOOK_MAX_BODY,
)
async def provider_hook(
    request: Request, settings: Settings, kind: str, account_id: str
) -> Response[bytes]:
    return await _answer(request, settings, kind, account_id, "")


@route(
    "/hooks/{kind:str}/{account_id:str}/{sub:str}",
    http_method=["GET", "POST"],
    include_in_schema=False,
    request_max_body_size=HOOK_MAX_BODY,
)
async def provider_sub_hook(
    request: Request, settings: Settings, kind: str, account_id: str, sub: str
) -> Response[bytes]:
    return await _answer(request, settings, kind, account_id, sub)
