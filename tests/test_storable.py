"""What PostgreSQL can store, applied to provider input: pure rules, no server."""

from __future__ import annotations

import json

import pytest

from app.domain import storable
from app.domain.inbound import InboundMessage


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("plain", "plain"),
        ("a\x00b", "ab"),
        ("\x00\x00", ""),
        ("lone \ud800 high", "lone  high"),
        ("lone \udfff low", "lone  low"),
        ("emoji 😀 and ß and 日本", "emoji 😀 and ß and 日本"),
        ("\ufffe\uffff\x01\x7f tabs\tand\nlines", "\ufffe\uffff\x01\x7f tabs\tand\nlines"),
    ],
)
def test_text_removes_only_what_postgresql_refuses(given, kept):
    assert storable.text(given) == kept
    storable.text(given).encode("utf-8")  # never raises: every surrogate is gone


def test_deep_scrubs_every_string_keys_included():
    value = {"a\x00": ["x\ud800", {"k": "v\x00"}, 3, None, True], "n": 1.5}
    assert storable.deep(value) == {"a": ["x", {"k": "v"}, 3, None, True], "n": 1.5}


def test_names_are_one_line_and_cut_to_what_a_participant_holds():
    assert storable.name("  Taro\x00 \n Yamada ") == "Taro Yamada"
    long = storable.name("n" * 10_000)
    assert len(long) == storable.MAX_NAME and long.endswith("…")


def test_a_huge_text_is_cut_with_a_note():
    text = storable.message_text("x" * (storable.MAX_TEXT + 5))
    assert text.startswith("x" * storable.MAX_TEXT)
    note = f"[The message was {storable.MAX_TEXT + 5:,} characters; the rest was cut.]"
    assert text.endswith(note)
    assert storable.message_text("short\x00") == "short"


def test_an_inbound_message_is_scrubbed_in_every_field():
    message = InboundMessage(
        peer="U1\x00",
        peer_name="Name\ud800" + "x" * 300,
        text="hi\x00",
        medias=[{"type": "image/png", "url": "https://e.example/a\x00.png", "name": "a\ud800"}],
        provider_message_id="id\x00",
        identities=[{"type": "email", "target": "a\x00@b.example", "name": "N\x00"}],
        topic="subject\x00",
        references=["<r\x00@x>"],
        conversation_hint="hint\x00",
        raw="raw\x00",
    )
    clean = storable.inbound(message)
    assert clean.peer == "U1" and clean.text == "hi" and clean.provider_message_id == "id"
    assert clean.peer_name.startswith("Namex") and len(clean.peer_name) == storable.MAX_NAME
    assert clean.medias == [{"type": "image/png", "url": "https://e.example/a.png", "name": "a"}]
    assert clean.identities == [{"type": "email", "target": "a@b.example", "name": "N"}]
    assert (clean.topic, clean.references, clean.conversation_hint, clean.raw) == (
        "subject",
        ["<r@x>"],
        "hint",
        "raw",
    )
    assert storable.inbound(InboundMessage(peer="p")).conversation_hint is None


def test_loads_tolerates_what_providers_may_send_and_scrubs_it():
    body = b'{"text": "a\\u0000b", "lone": "x\\ud800y", "pair": "\\ud83d\\ude00"}'
    assert storable.loads(body) == {"text": "ab", "lone": "xy", "pair": "😀"}
    assert storable.loads(b'{"bytes": "\xff\xfe"}') == {"bytes": "\ufffd\ufffd"}


@pytest.mark.parametrize("body", [b"{not json", b"", b"[" * 100_000 + b"]" * 100_000])
def test_loads_refuses_what_is_not_json_or_nests_too_deeply(body):
    with pytest.raises(storable.MalformedJson):
        storable.loads(body)


def test_an_excerpt_is_bounded_storable_text():
    event = {"type": "message", "text": "\x00" + "é" * 10_000}
    excerpt = storable.excerpt(event)
    assert "\x00" not in excerpt and excerpt.endswith("…")
    assert len(excerpt.encode()) <= storable.EXCERPT_BYTES + len("…".encode())
    assert json.loads(storable.excerpt({"a": "b\x00"})) == {"a": "b"}
    assert storable.excerpt(b"raw \x00 bytes \xff") == "raw  bytes \ufffd"
    assert storable.excerpt({"a": {1, 2}}).startswith("{'a'")  # not JSON: its repr
