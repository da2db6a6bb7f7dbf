"""Standard Webhooks signing (https://www.standardwebhooks.com).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}` over the exact bytes sent;
the key is the base64-decoded part of the `whsec_…` secret; the header value is
`v1,<base64 HMAC-SHA256>`, several space-separated while a rotated-out secret still signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

PREFIX = "whsec_"
SECRET_GRACE = timedelta(hours=24)
"""How long a rotated-out secret keeps signing beside the new one."""


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the spec allows 24 to 64)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def previous_signs_until(previous: str, rotated_at: datetime | None, at: datetime):
    """Until when the secret replaced by the last rotation still signs (None: it does not)."""
    if not previous or rotated_at is None or rotated_at + SECRET_GRACE <= at:
        return None
    return rotated_at + SECRET_GRACE


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def header(secrets_: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, current one first."""
    return " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_ if s)
