"""What a channel driver hands the conversation service for each inbound message."""

from __future__ import annotations

from typing import Any

import msgspec


class InboundMessage(msgspec.Struct, kw_only=True):
    peer: str
    """The sender's address on the channel, as the provider gave it (normalized later)."""
    peer_name: str = ""
    text: str = ""
    medias: list[dict[str, Any]] = []
    provider_message_id: str = ""
    """The provider's id (Twilio MessageSid, LINE webhookEventId, wamid, Message-ID);
    a second message with the same id on the same account is the provider retrying."""
    conversation_hint: str | None = None
    """A room the channel already knows this message belongs to (an email reply's
    In-Reply-To); used when that room is still open."""
