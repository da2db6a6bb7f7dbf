"""What a message must hold, wherever it is written: a reply to a customer, a message in a
talk, an edit of one. Pure rules, no I/O."""

from __future__ import annotations

from app.domain.errors import InvalidInput


def require_content(text: str, has_media: bool) -> None:
    """A message needs text (more than white space) or at least one media."""
    if not text.strip() and not has_media:
        raise InvalidInput("empty_message", "A message needs text or at least one media.")
