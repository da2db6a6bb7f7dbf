"""`/v1.0/accesskeys`: admins make API keys for programs; a key is shown only once."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import Parameter

from app.domain.principal import Principal
from app.domain.resources import AccessKeyCreate, AccessKeyOut, AccessKeyPage, AccessKeyUpdate
from app.services import accesskeys


class AccessKeyController(Controller):
    path = "/v1.0/accesskeys"
    tags = ["accesskeys"]

    @get("/")
    async def list_accesskeys(
        self,
        principal: Principal,
        page_size: int = Parameter(default=100, ge=1, le=100),
        page_token: str | None = None,
    ) -> AccessKeyPage:
        result, token = await accesskeys.list_accesskeys(principal, page_size, page_token)
        return AccessKeyPage(result=result, next_page_token=token)

    @post("/")
    async def create_accesskey(self, principal: Principal, data: AccessKeyCreate) -> AccessKeyOut:
        return await accesskeys.create_accesskey(principal, data)

    @get("/{key_id:str}")
    async def get_accesskey(self, principal: Principal, key_id: str) -> AccessKeyOut:
        return await accesskeys.get_accesskey(principal, key_id)

    @put("/{key_id:str}")
    async def update_accesskey(
        self, principal: Principal, key_id: str, data: AccessKeyUpdate
    ) -> AccessKeyOut:
        return await accesskeys.update_accesskey(principal, key_id, data)

    @delete("/{key_id:str}", status_code=200)
    async def revoke_accesskey(self, principal: Principal, key_id: str) -> AccessKeyOut:
        return await accesskeys.revoke_accesskey(principal, key_id)
