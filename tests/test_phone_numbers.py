"""Addresses in their canonical form, so one person always matches one room: phone numbers
in E.164 (WhatsApp ids without the plus), email lower-cased. Plain functions."""

from __future__ import annotations

import pytest

from app.domain.channels import normalize_address
from app.domain.enums import ParticipantType
from app.domain.errors import InvalidInput

pytestmark = pytest.mark.pure
TEL, WHATSAPP, EMAIL, LINE = (
    ParticipantType.TEL,
    ParticipantType.WHATSAPP,
    ParticipantType.EMAIL,
    ParticipantType.LINE,
)


@pytest.mark.parametrize(
    ("kind", "written", "region", "canonical"),
    [
        (TEL, "+14155550100", "US", "+14155550100"),
        (TEL, "(415) 555-0100", "US", "+14155550100"),
        (TEL, " +1-415-555-0100 ", "US", "+14155550100"),
        (TEL, "+44 20 7946 0958", "US", "+442079460958"),  # a + ignores the default region
        (TEL, "020 7946 0958", "GB", "+442079460958"),  # no +: the default region's number
        (WHATSAPP, "15550001111", "US", "15550001111"),  # WhatsApp ids: digits, no plus
        (WHATSAPP, "+1 555 000 1111", "US", "15550001111"),
        (EMAIL, " Bob@Example.COM ", "US", "bob@example.com"),
        (LINE, "Uabc123", "US", "Uabc123"),
    ],
)
def test_one_number_one_form(kind, written, region, canonical):
    assert normalize_address(kind, written, region) == canonical


@pytest.mark.parametrize(
    ("kind", "written"),
    [
        (TEL, "12"),
        (TEL, "hello"),
        (TEL, ""),
        (TEL, "+1 555 000 1111 999 999"),
        (WHATSAPP, "abc"),
        (EMAIL, "bob@"),
        (EMAIL, "bob@" + "x" * 250 + ".com"),
        (LINE, "a b"),
    ],
)
def test_what_cannot_be_an_address_is_refused(kind, written):
    with pytest.raises(InvalidInput) as refused:
        normalize_address(kind, written)
    assert refused.value.reason == "invalid_address"
