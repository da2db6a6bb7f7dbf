"""`/v1.0/conversation_accounts`: admins connect channels (CONTRACT §3–4). Secrets are
write-only; `webhook_urls` says what to paste into the provider's console."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.domain.principal import Principal
from app.domain.resources import (
    AccountCreate,
    AccountOut,
    AccountPage,
    AccountTest,
    AccountTestResult,
    AccountUpdate,
    ConversationSetup,
    RejectedInboundPage,
)
from app.services import accounts, rejected


class AccountController(Controller):
    path = "/v1.0/conversation_accounts"
    tags = ["conversation accounts"]

    @get("/")
    async def list_accounts(
        self,
        principal: Principal,
        page_size: int = Parameter(default=100, ge=1, le=100),
        page_token: str | None = None,
    ) -> AccountPage:
        result, token = await accounts.list_accounts(principal, page_size, page_token)
        return AccountPage(result=result, next_page_token=token)

    @post("/")
    async def create_account(
        self, request: Request, principal: Principal, data: AccountCreate
    ) -> Response[AccountOut]:
        return await idempotent(request, principal, lambda: accounts.create(principal, data))

    @get("/{account_id:str}")
    async def get_account(self, principal: Principal, account_id: str) -> AccountOut:
        return await accounts.get(principal, account_id)

    @put("/{account_id:str}")
    async def update_account(
        self, principal: Principal, account_id: str, data: AccountUpdate
    ) -> AccountOut:
        return await accounts.update(principal, account_id, data)

    @delete("/{account_id:str}", status_code=200)
    async def delete_account(self, principal: Principal, account_id: str) -> AccountOut:
        return await accounts.delete(principal, account_id)

    @get("/{account_id:str}/rejected")
    async def list_rejected(
        self,
        principal: Principal,
        account_id: str,
        page_size: int = Parameter(default=100, ge=1, le=100),
        page_token: str | None = None,
    ) -> RejectedInboundPage:
        """Events the provider delivered to this account that could not be stored as
        messages (malformed, or a value refused), newest first. The provider was answered
        2xx for them, so it does not redeliver them."""
        result, token = await rejected.list_rejected(principal, account_id, page_size, page_token)
        return RejectedInboundPage(result=result, next_page_token=token)

    @post("/{account_id:str}/test", status_code=200)
    async def send_test(
        self, principal: Principal, account_id: str, data: AccountTest
    ) -> AccountTestResult:
        """Send one message straight through the provider: proves the credentials work."""
        return await accounts.send_test(principal, account_id, data)


@post("/v1.0/conversations/setup", status_code=200, tags=["conversations"])
async def setup_conversation(principal: Principal, data: ConversationSetup) -> dict[str, Any]:
    """Register this server's webhook URL with the provider (LINE), as in the seed; returns
    the provider's own test of the URL."""
    return await accounts.setup_channel(principal, data)
