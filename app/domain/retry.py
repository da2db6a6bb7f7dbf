"""`Retry-After` (RFC 9110, section 10.2.3): how long a server asks us to wait before
trying again. Every caller that reads one — the channel drivers' sends, the webhook
dispatcher — reads it here, so a provider and an endpoint are understood the same way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from app.domain.timefmt import now

MAX_RETRY_AFTER = 24 * 3600.0
"""A longer wait is taken as this: a day is the longest any retry of ours waits, and a
server's typo ("86400000") must not park a message for years."""

_DELTA_SECONDS = re.compile(r"[0-9]+")


def retry_after(value: str | None, *, at: datetime | None = None) -> float | None:
    """Seconds to wait, from 0 to MAX_RETRY_AFTER; None when there is no usable value.

    Takes both forms the RFC allows: delta-seconds (`120`: digits only, so no sign,
    fraction, `nan` or `inf`) and an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the
    obsolete RFC 850 and asctime forms recipients must still read). A date is counted from
    `at` (now); one already past means "now" (0). Anything else is ignored."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime carries no zone; every HTTP-date is in GMT
        when = when.replace(tzinfo=UTC)
    seconds = (when - (at or now())).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
