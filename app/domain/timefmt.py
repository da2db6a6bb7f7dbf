"""The API's time format: UTC, "2022-06-17 06:06:14.446158", as VoIPBIN writes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


_as_of: ContextVar[datetime | None] = ContextVar("as_of", default=None)


def now() -> datetime:
    """The current time; inside `as_of`, the time it names."""
    fixed = _as_of.get()
    return datetime.now(UTC) if fixed is None else fixed


@contextmanager
def as_of(at: datetime) -> Iterator[None]:
    """Within it, `now()` answers `at` (in this task and the tasks it starts). The demo
    writes its past week through the services themselves, each step at the time it
    happened, so every fact, count, clock, survey and event is the one real traffic would
    have left — nothing written beside the code that keeps them consistent."""
    token = _as_of.set(at)
    try:
        yield
    finally:
        _as_of.reset(token)


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
