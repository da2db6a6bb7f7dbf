"""Satisfaction surveys (CSAT), the pure part: a channel account's survey settings, how the
survey reaches each channel, reading a "reply 1-5" answer, and the signed link of an
email survey. No I/O; `app/csat/` does the rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from datetime import timedelta
from typing import Any

import msgspec

from app.domain.enums import ParticipantType, ReferenceType
from app.domain.errors import InvalidInput

DEFAULT_QUESTION = "How would you rate our help? Reply with a number from 1 (poor) to 5 (great)."
LINK_QUESTION = "How would you rate our help?"
"""What a link or a widget asks when the account keeps the default question: "reply with
a number" means nothing where the customer clicks."""
MAX_QUESTION = 1000
MAX_DELAY = 7 * 86400
"""At most a week between the close and the survey."""
MAX_COMMENT = 5000

REPLY_WINDOW = timedelta(days=3)
"""How long after a text survey went out a bare "1"-"5" answers it."""
LINK_WINDOW = timedelta(days=30)
"""How long an email link or the widget's card takes an answer."""

# where the survey goes, by the channel of the customer's last message
TEXT_CHANNELS = frozenset({ReferenceType.MESSAGE, ReferenceType.LINE, ReferenceType.WHATSAPP})
"""The question is a message; the customer's next message answers it."""
TEXT_ADDRESSES = frozenset({ParticipantType.TEL, ParticipantType.LINE, ParticipantType.WHATSAPP})
"""The addresses of those channels: an inbound message from one may be an answer."""
LINK_CHANNELS = frozenset({ReferenceType.EMAIL})
"""The question is a message with a signed link to a small public page."""
WIDGET_CHANNELS = frozenset({ReferenceType.WEBCHAT})
"""The widget asks inline; no message."""


class CsatSettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool
    question: str
    delay: int
    """Seconds after the close."""


def settings_of(account_settings: dict[str, Any]) -> CsatSettings:
    """An account's survey settings, with the defaults for what is unset (an account made
    before the settings existed has surveys off)."""
    question = str(account_settings.get("csat_question") or "").strip()
    try:
        delay = int(account_settings.get("csat_delay") or 0)
    except (TypeError, ValueError):
        delay = 0
    return CsatSettings(
        enabled=account_settings.get("csat") == "on",
        question=question[:MAX_QUESTION] or DEFAULT_QUESTION,
        delay=min(max(delay, 0), MAX_DELAY),
    )


def normalized(settings: dict[str, Any]) -> dict[str, Any]:
    """An account's settings with the survey's checked: `csat_delay` a whole number of
    seconds, 0 to a week (stored as a number); `csat_question` at most 1,000 characters
    (blank: the default). InvalidInput naming the setting otherwise."""
    settings = dict(settings)
    if "csat_delay" in settings:
        raw = settings["csat_delay"]
        text = str(raw).strip() if not isinstance(raw, bool) else "x"
        if not re.fullmatch(r"\d{1,7}", text) or int(text) > MAX_DELAY:
            raise InvalidInput(
                "invalid_setting",
                f"`csat_delay` must be a whole number of seconds from 0 to {MAX_DELAY} (a week).",
            )
        settings["csat_delay"] = int(text)
    if "csat_question" in settings:
        question = str(settings["csat_question"] or "").strip()
        if len(question) > MAX_QUESTION:
            raise InvalidInput(
                "invalid_setting", f"`csat_question` can be at most {MAX_QUESTION} characters."
            )
        if question:
            settings["csat_question"] = question
        else:
            settings.pop("csat_question")
    return settings


def shown_question(question: str) -> str:
    """The question as a link's page or the widget shows it."""
    return LINK_QUESTION if question == DEFAULT_QUESTION else question


def link_text(question: str, url: str) -> str:
    """An email survey's body."""
    return f"{shown_question(question)}\n\nRate this conversation (one click): {url}\n"


# --- a "reply 1-5" answer -----------------------------------------------------------------

_REPLY = re.compile(
    r"\s*([1-5])(?:\s*/\s*5)?(?:(?:[\s,.;:!)\-–—]+)(.*))?",
    re.DOTALL,
)


class Answer(msgspec.Struct, frozen=True):
    rating: int
    comment: str


def parse_reply(text: str) -> Answer | None:
    """A text message that answers a survey: a digit 1-5 alone, or followed by a
    separator and a comment ("4", "4/5", "5!", "4 great service", "2 - slow"); None for
    anything else ("45", "4pm", "hello"), which is an ordinary message."""
    found = _REPLY.fullmatch(text or "")
    if found is None:
        return None
    comment = " ".join((found.group(2) or "").split())
    return Answer(rating=int(found.group(1)), comment=comment[:MAX_COMMENT])


def clean_comment(text: str) -> str:
    """A comment as stored: surrounding space gone, at most MAX_COMMENT characters."""
    return (text or "").strip()[:MAX_COMMENT]


# --- the signed link --------------------------------------------------------------------


def _mac(key: str, survey_id: uuid.UUID) -> str:
    mac = hmac.new(key.encode(), b"convodesk-csat|" + survey_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def token_for(key: str, survey_id: str | uuid.UUID) -> str:
    """The survey's id and its HMAC under the secret key, URL-safe: the link's only
    credential, so nobody can rate a room whose survey they were not sent."""
    sid = uuid.UUID(str(survey_id))
    return base64.urlsafe_b64encode(sid.bytes).decode().rstrip("=") + "." + _mac(key, sid)


def survey_of_token(key: str, token: str) -> str | None:
    """The survey id a token names, if its signature checks out; None otherwise."""
    head, _, mac = (token or "").partition(".")
    if len(head) != 22 or len(mac) != 24:
        return None
    try:
        sid = uuid.UUID(bytes=base64.urlsafe_b64decode(head + "=="))
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, sid).encode()):
        return None
    return str(sid)


CHANNEL_NAMES = {
    ReferenceType.MESSAGE.value: "SMS",
    ReferenceType.EMAIL.value: "email",
    ReferenceType.LINE.value: "LINE",
    ReferenceType.WHATSAPP.value: "WhatsApp",
    ReferenceType.WEBCHAT.value: "web chat",
}


def rated_line(rating: int, comment: str) -> str:
    """The room's timeline line for an answer."""
    said = f": “{comment[:300]}{'…' if len(comment) > 300 else ''}”" if comment else ""
    return f"The customer rated the conversation {rating}/5{said}"
