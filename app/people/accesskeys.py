"""Access keys: long-lived API credentials for programs. A key acts as the admin who made
it, with that admin's current permission; it stops working when revoked, expired, or when
that admin is deleted. Only a SHA-256 of the key is stored: keys are 32 random bytes, so a
slow password hash would add nothing but latency to every request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from app.audit import log as audit
from app.core.events import transaction
from app.core.ids import found, parse_id
from app.domain.principal import Principal, require_admin
from app.domain.resources import AccessKeyCreate, AccessKeyOut, AccessKeyUpdate
from app.domain.timefmt import fmt, now
from app.people import accesskey_store
from app.people.accesskey_store import AccessKeyRow

KEY_PREFIX = "cdk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def accesskey_out(row: AccessKeyRow, token: str | None = None) -> AccessKeyOut:
    return AccessKeyOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        agent_id=str(row.agent_id),
        name=row.name,
        detail=row.detail,
        token_prefix=row.token_prefix,
        tm_expire=fmt(row.tm_expire),
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
        token=token,
    )


async def create_accesskey(principal: Principal, data: AccessKeyCreate) -> AccessKeyOut:
    require_admin(principal)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expire = now() + timedelta(seconds=data.expire) if data.expire else None
    async with transaction():
        row = await accesskey_store.insert(
            principal.customer_id,
            principal.agent_id,
            name=data.name,
            detail=data.detail,
            token_hash=hash_key(key),
            token_prefix=key[:12],
            tm_expire=expire,
        )
        out = accesskey_out(row)  # the entry never holds the key itself
        await audit.record(
            principal.customer_id, principal, "accesskey.created", "accesskey", out.id, None, out
        )
    return accesskey_out(row, token=key)


_NO_KEY = ("accesskey_not_found", "access key")


async def _live_row(principal: Principal, key_id: str) -> AccessKeyRow:
    key_id = parse_id(key_id, *_NO_KEY)
    return found(await accesskey_store.live(principal.customer_id, key_id), *_NO_KEY)


async def get_accesskey(principal: Principal, key_id: str) -> AccessKeyOut:
    require_admin(principal)
    return accesskey_out(await _live_row(principal, key_id))


async def list_accesskeys(
    principal: Principal, page_size: int = 100, page_token: str | None = None
) -> tuple[list[AccessKeyOut], str]:
    require_admin(principal)
    rows, token = await accesskey_store.page(principal.customer_id, page_size, page_token)
    return [accesskey_out(r) for r in rows], token


async def update_accesskey(
    principal: Principal, key_id: str, data: AccessKeyUpdate
) -> AccessKeyOut:
    require_admin(principal)
    async with transaction():
        row = await _live_row(principal, key_id)
        if (data.name, data.detail) != (None, None):
            before = accesskey_out(row)
            row = await accesskey_store.describe(row.id, data.name, data.detail, now())
            await audit.record(
                principal.customer_id,
                principal,
                "accesskey.updated",
                "accesskey",
                row.id,
                before,
                accesskey_out(row),
            )
    return accesskey_out(row)


async def revoke_accesskey(principal: Principal, key_id: str) -> AccessKeyOut:
    require_admin(principal)
    async with transaction():
        row = await _live_row(principal, key_id)
        before = accesskey_out(row)
        row = await accesskey_store.revoke(row.id, now())
        await audit.record(
            principal.customer_id,
            principal,
            "accesskey.revoked",
            "accesskey",
            row.id,
            before,
            accesskey_out(row),
        )
    return accesskey_out(row)
