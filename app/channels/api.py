"""`/v1.0/conversation_accounts`: admins connect channels. Secrets are write-only;
`webhook_urls` says what to paste into the provider's console."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.channels import accounts, rejected
from app.domain.errors import Conflict, Forbidden, NotFound, ProviderUnavailable
from app.domain.principal import Principal
from app.domain.resources import (
    AccountCreate,
    AccountOut,
    AccountPage,
    AccountTest,
    AccountTestResult,
    AccountUpdate,
    ConversationSetup,
    ConversationSetupResult,
    RejectedInboundPage,
)
from app.routing import teams


class AccountController(Controller):
    path = "/v1.0/conversation_accounts"
    tags = ["conversation accounts"]
    opt = answers(Forbidden)  # admins only

    @get("/")
    async def list_accounts(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> AccountPage:
        """The customer's channel accounts, newest first. Secrets are never shown:
        `secrets_set` names the ones that have a value. Admins only."""
        result, token = await accounts.list_accounts(principal, page_size, page_token)
        return AccountPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, Conflict, idempotent=True))
    async def create_account(
        self, request: Request, principal: Principal, data: AccountCreate
    ) -> Response[AccountOut]:
        """Connect a channel. `type` is the provider: `sms` (Twilio), `email`, `line`,
        `whatsapp` or `webchat`; `settings` and `secrets` are named as the provider names them,
        and a missing or unknown one is a `422` naming it. `webhook_urls` in the answer
        says what to paste into the provider's console. An address another account of the
        same type already has is a `409`. Admins only."""
        return await idempotent(request, principal, lambda: accounts.create(principal, data))

    @get("/{account_id:str}")
    async def get_account(self, principal: Principal, account_id: str) -> AccountOut:
        """One channel account, without its secrets. Admins only."""
        return await accounts.get(principal, account_id)

    @put("/{account_id:str}", opt=answers(Forbidden, Conflict))
    async def update_account(
        self, principal: Principal, account_id: str, data: AccountUpdate
    ) -> AccountOut:
        """Change a channel account; only what is given changes. A setting set to null, or
        a secret set to `""`, is removed. Admins only."""
        return await accounts.update(principal, account_id, data)

    @delete("/{account_id:str}", status_code=200)
    async def delete_account(self, principal: Principal, account_id: str) -> AccountOut:
        """Delete a channel account: its hooks stop taking messages and nothing more goes
        out through it; its rooms and messages stay. Admins only."""
        return await teams.delete_account(principal, account_id)

    @get("/{account_id:str}/rejected", opt=answers(Forbidden, NotFound))
    async def list_rejected(
        self,
        principal: Principal,
        account_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
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
        """Send one message straight through the provider to `to`, proving the credentials
        work. `success` says whether the provider took it and `reason` why not; the message
        is not stored in any room. Admins only."""
        return await accounts.send_test(principal, account_id, data)


@post(
    "/v1.0/conversations/setup",
    status_code=200,
    tags=["conversations"],
    opt=answers(Forbidden, NotFound, ProviderUnavailable),
)
async def setup_conversation(
    principal: Principal, data: ConversationSetup
) -> ConversationSetupResult:
    """Register this server's webhook URL with the provider of `reference_type`, for the
    account `account_id` (else the customer's first account of that channel; none is a
    `404`), and answer the provider's own test of the URL. Only LINE is set up this way
    (`422` for the others: paste their `webhook_urls` into the provider's console); a
    provider that cannot be reached is a `503`. Admins only."""
    return await accounts.setup_channel(principal, data)
