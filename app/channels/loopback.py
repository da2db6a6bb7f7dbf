"""The loopback channel: a channel account that talks to no provider.

It stands in for any channel (its `settings.reference_type` says which: `message`,
`email`, `line`, `webchat`, `whatsapp`), accepts every message at once, and is what the
demo and the tests use where no provider can be reached — a driver like any other, found
through the registry. Like a provider's test credentials, it can be told to refuse:
`settings.simulate` = `"fail"` (a permanent refusal) or `"unavailable"` (a transient
error, retried with backoff).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from app.channels.base import (
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    PermanentSendError,
    SendResult,
    TransientSendError,
    closed_reply_fields,
    csat_fields,
    register,
    signature_field,
)
from app.domain.enums import ReferenceType

if TYPE_CHECKING:  # for annotations only: drivers do no database work
    from app.channels.account_store import AccountRow


class LoopbackDriver:
    type = "loopback"
    label = "Loopback (no provider: demo and testing)"
    fields = (
        Field(
            name="reference_type",
            label="Stands in for",
            kind="select",
            choices=tuple(r.value for r in ReferenceType),
            default="message",
        ),
        Field(name="address", label="Address", help="The address it pretends to have."),
        Field(
            name="simulate",
            label="Simulate",
            kind="select",
            choices=("", "fail", "unavailable"),
            required=False,
            help="Refuse every message (fail) or be briefly unavailable (unavailable).",
        ),
        signature_field(""),
        *csat_fields(),
        *closed_reply_fields(),
    )
    address_field = "address"
    hooks: dict[str, str] = {}

    def reference_type(self, account: AccountRow) -> ReferenceType:
        return ReferenceType(account.settings.get("reference_type", "message"))

    def carries_media(self, account: AccountRow) -> bool:
        return bool(account.settings.get("media", True))

    async def send(self, account: AccountRow, request: OutboundRequest) -> SendResult:
        simulate = account.settings.get("simulate", "")
        if simulate == "fail":
            raise PermanentSendError("loopback: the account is set to refuse messages")
        if simulate == "unavailable":
            raise TransientSendError("loopback: the account is set to be unavailable")
        return SendResult(provider_message_id=f"loopback-{uuid.uuid4()}")

    def verify(self, account: AccountRow, request: HookRequest) -> bool:
        return False  # nothing calls a loopback account from outside

    async def parse(self, account: AccountRow, request: HookRequest) -> HookOutcome:
        return HookOutcome()


register(LoopbackDriver())
