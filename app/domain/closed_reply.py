"""The out-of-hours reply's words: the default text, and `{{next_open}}` filled with when
the calendar opens next, in the calendar's own time zone (the customer's clock, not the
server's). Pure rules, no I/O."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TEXT = "We are closed right now. We will answer from {{next_open}}."
"""A channel account's closed reply when its `closed_reply_text` is empty."""

_NEXT_OPEN = re.compile(r"\{\{\s*next_open\s*\}\}")
MAX_LENGTH = 2000


def opening(at: datetime, time_zone: str, now: datetime) -> str:
    """`at` as a customer reads it in `time_zone`: "09:00 CET" later today, "Monday
    09:00 CET" within a week, "Monday 5 January 09:00 CET" beyond."""
    local = at.astimezone(ZoneInfo(time_zone))
    today = now.astimezone(ZoneInfo(time_zone)).date()
    clock = f"{local:%H:%M} {local.tzname()}"
    days = (local.date() - today).days
    if days <= 0:
        return clock
    if days < 7:
        return f"{local:%A} {clock}"
    return f"{local:%A} {local.day} {local:%B} {clock}"


def closed_text(template: str, opens_at: datetime, time_zone: str, now: datetime) -> str:
    """The reply: the account's text (or the default when empty) with `{{next_open}}`
    (spaces inside the braces allowed) filled; other text stays as written."""
    text = template.strip() or DEFAULT_TEXT
    when = opening(opens_at, time_zone, now)
    return _NEXT_OPEN.sub(lambda _m: when, text)[:MAX_LENGTH]
