"""What PostgreSQL can store, applied to what providers send us. Pure, no I/O.

A `text`, `json` or `jsonb` value in a UTF-8 database cannot hold U+0000 (jsonb refuses
even the `\\u0000` escape), and a lone surrogate (U+D800–U+DFFF, which a JSON `\\ud800`
escape decodes to) cannot be encoded to UTF-8 at all. A provider's message is signed and
the customer wrote it: it is stored with those characters removed, never refused.

Some provider values also have no natural bound (a display name, a media URL, a whole
mail body): names are cut to what a room's participant holds, and text to what the
message search index can take, with a note saying so.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from app.domain.inbound import InboundMessage
from app.domain.text import strip_unstorable

MAX_NAME = 255
"""A participant's name and display name (`participants.target_name`)."""
MAX_TEXT = 100_000
"""Characters of one inbound message's text: PostgreSQL's text-search vector of a message
holds at most 1 MB, which text past this size can exceed."""
MAX_URL = 8192
"""Characters of a media URL we keep (browsers and CDNs stop at about this)."""
EXCERPT_BYTES = 4096
"""How much of a refused event the rejected-inbound log keeps."""


def text(value: str) -> str:
    """`value` without the characters PostgreSQL refuses (the rule is `domain.text`'s)."""
    return strip_unstorable(value)


def deep(value: Any) -> Any:
    """`text` applied to every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(str(k)): deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [deep(v) for v in value]
    return value


def name(value: str) -> str:
    """A storable display name on one line, at most MAX_NAME characters."""
    value = " ".join(text(value).split())
    return value if len(value) <= MAX_NAME else value[: MAX_NAME - 1] + "…"


def message_text(value: str) -> str:
    value = text(value)
    if len(value) <= MAX_TEXT:
        return value
    return value[:MAX_TEXT] + f"\n\n[The message was {len(value):,} characters; the rest was cut.]"


def inbound(message: InboundMessage) -> InboundMessage:
    """An inbound message as it can be stored: every string scrubbed, names and text cut
    to size. Applied once, at the inbound entry point, whatever the channel."""
    return msgspec.structs.replace(
        message,
        peer=text(message.peer),
        peer_name=name(message.peer_name),
        text=message_text(message.text),
        medias=deep(message.medias),
        provider_message_id=text(message.provider_message_id),
        identities=[
            {k: name(v) if k == "name" else text(v) for k, v in deep(i).items()}
            for i in message.identities
        ],
        topic=text(message.topic),
        references=[text(r) for r in message.references],
        conversation_hint=(
            None if message.conversation_hint is None else text(message.conversation_hint)
        ),
        raw=text(message.raw),
    )


class MalformedJson(ValueError):
    """The body is not JSON (or nests deeper than a parser can follow)."""


def loads(raw: bytes) -> Any:
    """A provider's JSON body, as Python, with every string storable. Tolerant of what a
    strict parser refuses but a provider may still send: a lone surrogate escape, bytes
    that are not UTF-8 (replaced by U+FFFD). MalformedJson when it is not JSON at all."""
    try:
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            value = json.loads(raw.decode("utf-8", errors="replace"))
        return deep(value)
    except (ValueError, RecursionError):
        raise MalformedJson("not JSON, or nested too deeply") from None


def excerpt(value: Any) -> str:
    """A refused event as the rejected-inbound log keeps it: JSON (or the text itself),
    storable, at most EXCERPT_BYTES of UTF-8."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        try:
            value = json.dumps(deep(value), ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            value = repr(value)
    value = text(value)
    data = value.encode()
    if len(data) <= EXCERPT_BYTES:
        return value
    return data[:EXCERPT_BYTES].decode("utf-8", errors="ignore") + "…"
