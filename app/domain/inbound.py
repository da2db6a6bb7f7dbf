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
    identities: list[dict[str, str]] = []
    """Other addresses the sender is known by, `{"type": "email", "target", "name"}`: a
    web chat visitor who left an email address. A first message joins the open room that
    already has one of them; every one becomes a participant of the sender's room, so an
    agent can continue there by that channel."""
    topic: str = ""
    """What the message is about (an email's Subject): the name of a room it opens."""
    references: list[str] = []
    """Provider ids of earlier messages this one answers (an email's In-Reply-To, then its
    References, nearest first): it joins the open room that holds one of them."""
    conversation_hint: str | None = None
    """A room the channel already knows this message belongs to (an email reply's
    In-Reply-To); used when that room is still open."""
    peer_label: str = ""
    """What to call a sender who gave no name, instead of their address (a web chat
    visitor: "Visitor from <page host>"): the name of the room and contact it opens."""
    raw: str = ""
    """The provider's event as it came (JSON, a form, a mail's head): what the
    rejected-inbound log shows should the message fail to be stored."""
