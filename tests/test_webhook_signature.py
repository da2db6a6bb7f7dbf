"""Standard Webhooks signing as plain functions: checked against the specification's own
example and against the signature computed here from the specification's words."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from webhook_kit import expected_signature

from app.webhooks import signature as ws

pytestmark = pytest.mark.pure

# The example in the Standard Webhooks specification (and its reference libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_as_published():
    assert ws.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_signature_matches_the_specification_for_any_content():
    secret = ws.new_secret()
    body = '{"type": "conversation_created", "text": "héllo"}'.encode()
    assert ws.signature(secret, "evt_1", 1700000000, body) == expected_signature(
        secret, "evt_1", "1700000000", body
    )
    # every part is signed: another id, time or body gives another signature
    one = ws.signature(secret, "evt_1", 1700000000, body)
    assert one != ws.signature(secret, "evt_2", 1700000000, body)
    assert one != ws.signature(secret, "evt_1", 1700000001, body)
    assert one != ws.signature(secret, "evt_1", 1700000000, body + b" ")


def test_a_new_secret_is_32_random_bytes_behind_the_prefix():
    first, second = ws.new_secret(), ws.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert ws.key_of(first) == base64.b64decode(first[len("whsec_") :])


def test_the_header_signs_once_per_secret_current_first_skipping_empty_ones():
    current, previous = ws.new_secret(), ws.new_secret()
    value = ws.header([current, "", previous], "evt_9", 1700000000, b"{}")
    assert value.split() == [
        ws.signature(current, "evt_9", 1700000000, b"{}"),
        ws.signature(previous, "evt_9", 1700000000, b"{}"),
    ]
    assert ws.header([current], "evt_9", 1700000000, b"{}") == value.split()[0]


def test_a_rotated_out_secret_signs_for_24_hours():
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rotated = at - timedelta(hours=23)
    assert ws.previous_signs_until("whsec_old", rotated, at) == rotated + timedelta(hours=24)
    assert ws.previous_signs_until("whsec_old", at - timedelta(hours=24), at) is None
    assert ws.previous_signs_until("", rotated, at) is None
    assert ws.previous_signs_until("whsec_old", None, at) is None
