"""Access keys: long-lived API credentials for programs. A key acts as the admin who made
it, with that admin's current permission; it stops working when revoked, expired, or when
that admin is deleted. Only a SHA-256 of the key is stored: keys are 32 random bytes, so a
slow password hash would add nothing but latency to every request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from app.db.tables import AccessKey
from app.domain.principal import Principal, require_admin
from app.domain.resources import AccessKeyCreate, AccessKeyOut, AccessKeyUpdate
from app.domain.timefmt import fmt, now
from app.services.events import transaction
from app.services.ids import live_row
from app.services.pagination import keyset_page

KEY_PREFIX = "cdk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def accesskey_out(row: dict[str, Any], token: str | None = None) -> AccessKeyOut:
    return AccessKeyOut(
        id=str(row["id"]),
        customer_id=str(row["customer_id"]),
        agent_id=str(row["agent_id"]),
        name=row["name"],
        detail=row["detail"],
        token_prefix=row["token_prefix"],
        tm_expire=fmt(row["tm_expire"]),
        tm_create=fmt(row["tm_create"]),
        tm_update=fmt(row["tm_update"]),
        tm_delete=fmt(row["tm_delete"]),
        token=token,
    )


async def create_accesskey(principal: Principal, data: AccessKeyCreate) -> AccessKeyOut:
    require_admin(principal)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expire = now() + timedelta(seconds=data.expire) if data.expire else None
    async with transaction():
        rows = await AccessKey.insert(
            AccessKey(
                customer_id=principal.customer_id,
                agent_id=principal.agent_id,
                name=data.name,
                detail=data.detail,
                token_hash=hash_key(key),
                token_prefix=key[:12],
                tm_expire=expire,
            )
        ).returning(*AccessKey.all_columns())
    return accesskey_out(rows[0], token=key)


async def _live_row(principal: Principal, key_id: str) -> dict[str, Any]:
    return await live_row(
        AccessKey, key_id, principal.customer_id, "accesskey_not_found", "access key"
    )


async def get_accesskey(principal: Principal, key_id: str) -> AccessKeyOut:
    require_admin(principal)
    return accesskey_out(await _live_row(principal, key_id))


async def list_accesskeys(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AccessKeyOut], str]:
    require_admin(principal)
    rows, token = await keyset_page(
        AccessKey,
        [AccessKey.customer_id == principal.customer_id, AccessKey.tm_delete.is_null()],
        page_size,
        page_token,
    )
    return [accesskey_out(r) for r in rows], token


async def update_accesskey(
    principal: Principal, key_id: str, data: AccessKeyUpdate
) -> AccessKeyOut:
    require_admin(principal)
    changes: dict[Any, Any] = {}
    if data.name is not None:
        changes[AccessKey.name] = data.name
    if data.detail is not None:
        changes[AccessKey.detail] = data.detail
    async with transaction():
        row = await _live_row(principal, key_id)
        if changes:
            changes[AccessKey.tm_update] = now()
            row = (
                await AccessKey.update(changes)
                .where(AccessKey.id == row["id"])
                .returning(*AccessKey.all_columns())
            )[0]
    return accesskey_out(row)


async def revoke_accesskey(principal: Principal, key_id: str) -> AccessKeyOut:
    require_admin(principal)
    async with transaction():
        row = await _live_row(principal, key_id)
        stamp = now()
        row = (
            await AccessKey.update({AccessKey.tm_delete: stamp, AccessKey.tm_update: stamp})
            .where(AccessKey.id == row["id"])
            .returning(*AccessKey.all_columns())
        )[0]
    return accesskey_out(row)
