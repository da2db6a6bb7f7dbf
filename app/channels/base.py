"""What every channel driver provides, and the registry that finds one by account type.

A driver turns a stored channel account (a row of `channel_accounts`: type, address,
settings, secrets) and an outbound message into a provider call. Later drivers also verify
and parse the provider's inbound webhooks; whatever they parse goes through the one
inbound entry point, `services.messages.receive`.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from app.domain.enums import ReferenceType


class OutboundRequest(msgspec.Struct, kw_only=True):
    """One message for a driver to send."""

    message_id: str
    to: str
    """The peer's address on this channel (E.164, email address, LINE user id, ...)."""
    text: str
    medias: list[dict[str, Any]]
    conversation_id: str
    attempt: int


class SendResult(msgspec.Struct, kw_only=True):
    provider_message_id: str
    delivered: bool = True
    """True when the provider has taken the message for good (the message becomes `done`);
    False when a later status callback from the provider decides."""


class TransientSendError(Exception):
    """Worth retrying: a timeout, a 429 or a 5xx."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """The provider refused the message for good; `reason` is shown to the agent."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Driver(Protocol):
    type: str
    """The account type it serves (`sms`, `line`, `loopback`, ...)."""

    def reference_type(self, account: dict[str, Any]) -> ReferenceType:
        """The channel this account carries messages on."""
        ...

    def carries_media(self, account: dict[str, Any]) -> bool: ...

    async def send(self, account: dict[str, Any], request: OutboundRequest) -> SendResult: ...


_DRIVERS: dict[str, Driver] = {}


def register(driver: Driver) -> Driver:
    _DRIVERS[driver.type] = driver
    return driver


def get_driver(account_type: str) -> Driver:
    try:
        return _DRIVERS[account_type]
    except KeyError:
        raise LookupError(f"no channel driver for account type {account_type!r}") from None


def registered_types() -> list[str]:
    return sorted(_DRIVERS)
