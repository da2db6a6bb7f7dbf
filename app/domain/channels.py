"""How channels, participant types and addresses relate. Pure rules, no I/O."""

from __future__ import annotations

import re

import phonenumbers

from app.domain.enums import ParticipantType, ReferenceType
from app.domain.errors import InvalidInput

PARTICIPANT_FOR_REFERENCE = {
    ReferenceType.MESSAGE: ParticipantType.TEL,
    ReferenceType.EMAIL: ParticipantType.EMAIL,
    ReferenceType.LINE: ParticipantType.LINE,
    ReferenceType.WEBCHAT: ParticipantType.WEBCHAT,
    ReferenceType.WHATSAPP: ParticipantType.WHATSAPP,
}
REFERENCE_FOR_PARTICIPANT = {p: r for r, p in PARTICIPANT_FOR_REFERENCE.items()}

_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:@+-]{1,128}$")


def normalize_address(type: ParticipantType, target: str, default_region: str = "US") -> str:
    """The canonical form of an address, so the same person always matches the same room:
    phone numbers in E.164, email addresses lower-cased. InvalidInput if it cannot be one."""
    target = target.strip()
    if type is ParticipantType.TEL or type is ParticipantType.WHATSAPP:
        raw = target
        if type is ParticipantType.WHATSAPP and raw.isdigit():
            raw = "+" + raw  # WhatsApp ids are E.164 digits without the plus
        try:
            number = phonenumbers.parse(raw, None if raw.startswith("+") else default_region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise InvalidInput("invalid_address", f"{target!r} is not a phone number.")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return e164.lstrip("+") if type is ParticipantType.WHATSAPP else e164
    if type is ParticipantType.EMAIL:
        if not _EMAIL.match(target) or len(target) > 254:
            raise InvalidInput("invalid_address", f"{target!r} is not an email address.")
        return target.lower()
    if not _TOKEN.match(target):
        raise InvalidInput("invalid_address", f"{target!r} is not a valid {type.value} id.")
    return target


def preview(text: str, medias: list[dict], limit: int = 140) -> str:
    """The inbox's one-line preview of a message."""
    text = " ".join(text.split())
    if not text and medias:
        names = ", ".join(m.get("name") or m.get("type") or "file" for m in medias)
        text = f"[attachment: {names}]"
    return text if len(text) <= limit else text[: limit - 1] + "…"
