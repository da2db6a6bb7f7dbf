"""The API's time format: UTC, "2022-06-17 06:06:14.446158", as VoIPBIN writes it."""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%d %H:%M:%S.%f"
LIVE = "9999-01-01 00:00:00.000000"
"""What `tm_delete` (and a missing expiry) shows for a live record."""


def fmt(value: datetime | None) -> str:
    """Format a timestamp; None (not deleted, never expires) is the far-future sentinel."""
    if value is None:
        return LIVE
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(FORMAT)


def parse(text: str) -> datetime:
    """Parse the API format (or ISO 8601) into an aware UTC datetime; ValueError if neither."""
    text = text.strip()
    try:
        value = datetime.strptime(text, FORMAT)
    except ValueError:
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)
