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


def time_parameter(name: str, value: str | None) -> datetime | None:
    """A query parameter that names a time (`from`, `to` of a list), in this format; absent
    or empty is no bound. A bad one is the API's 400 `invalid_parameter`."""
    from app.domain.errors import BadRequest

    if not value:
        return None
    try:
        return parse(value)
    except ValueError:
        raise BadRequest(
            "invalid_parameter", f"{name} must be a time such as 2026-12-01 09:00:00.000000."
        ) from None
