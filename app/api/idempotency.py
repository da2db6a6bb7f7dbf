"""Runs a create handler under the request's `Idempotency-Key`, if it has one."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from app.core import idempotency
from app.domain.errors import BadRequest
from app.domain.principal import Principal


async def idempotent(
    request: Request,
    principal: Principal,
    create: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        result = await create()
        if isinstance(result, tuple):  # (body, status code): see core.idempotency.run
            result, status_code = result
        return Response(result, status_code=status_code)
    key = key.strip()
    if not 1 <= len(key) <= 255:
        raise BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters.")
    body = await request.body()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    code, payload, replayed = await idempotency.run(
        principal.customer_id, key, fingerprint, create, status_code
    )
    return Response(
        payload,
        status_code=code,
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )
