"""`/v1.0/accesskeys`: admins make API keys for programs; a key is shown only once."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put

from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.errors import Forbidden
from app.domain.principal import Principal
from app.domain.resources import AccessKeyCreate, AccessKeyOut, AccessKeyPage, AccessKeyUpdate
from app.people import accesskeys


class AccessKeyController(Controller):
    path = "/v1.0/accesskeys"
    tags = ["accesskeys"]
    opt = answers(Forbidden)  # admins only

    @get("/")
    async def list_accesskeys(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> AccessKeyPage:
        """The customer's access keys, newest first; never the keys themselves (only their
        first characters, `token_prefix`). Admins only."""
        result, token = await accesskeys.list_accesskeys(principal, page_size, page_token)
        return AccessKeyPage(result=result, next_page_token=token)

    @post("/")
    async def create_accesskey(self, principal: Principal, data: AccessKeyCreate) -> AccessKeyOut:
        """Make an access key for a program. The key is in this response's `token` only:
        store it now. It acts as the agent who made it, with that agent's current
        permission, and stops working when revoked, when it expires (`expire`, seconds from
        now; omitted: never) or when that agent is deleted. Admins only.

        This operation takes no `Idempotency-Key`: replaying it would mean keeping the key."""
        return await accesskeys.create_accesskey(principal, data)

    @get("/{key_id:str}")
    async def get_accesskey(self, principal: Principal, key_id: str) -> AccessKeyOut:
        """One access key (without the key). Admins only."""
        return await accesskeys.get_accesskey(principal, key_id)

    @put("/{key_id:str}")
    async def update_accesskey(
        self, principal: Principal, key_id: str, data: AccessKeyUpdate
    ) -> AccessKeyOut:
        """Rename or describe an access key; only the fields given change. Admins only."""
        return await accesskeys.update_accesskey(principal, key_id, data)

    @delete("/{key_id:str}", status_code=200)
    async def revoke_accesskey(self, principal: Principal, key_id: str) -> AccessKeyOut:
        """Revoke an access key: it stops working at once. Admins only."""
        return await accesskeys.revoke_accesskey(principal, key_id)
