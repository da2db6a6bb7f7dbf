"""The pure rules behind the desk's refusals: which characters cannot be stored, and
validator messages in plain words (no server needed)."""

# ruff: noqa: E501 - the corpus reads best one case a line
from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from app.domain.explain import FALLBACK, explain, field_of, label_for
from app.domain.resources import AccountTest, ConversationUpdate, CustomerUpdate, MessageCreate
from app.domain.text import strip_unstorable, unstorable_char


def test_what_postgresql_cannot_store():
    assert unstorable_char("plain text, ünïcödé, 👍") is None
    assert unstorable_char("a\x00b") == "U+0000"
    assert unstorable_char("lone \ud800 surrogate") == "U+D800"
    assert unstorable_char("\udfff") == "U+DFFF"
    assert strip_unstorable("a\x00b\ud800c") == "abc"
    assert strip_unstorable("👍\x00") == "👍"


def refusal(data, kind) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(data, kind)
    return str(caught.value)


LABELS = {"tags": "Tags", "text": "The message", "to": "To", "webhook_method": "The method"}


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        ({"tags": ["a", "b", "c", "x" * 70]}, ConversationUpdate, "Tags can be at most 64 characters."),
        ({"tags": [str(i) for i in range(60)]}, ConversationUpdate, "Tags can hold at most 50 entries."),
        ({"tags": "vip"}, ConversationUpdate, "Tags must be a list."),
        ({"tags": [" lead"]}, ConversationUpdate, "Tags cannot be accepted as written."),
        ({"text": "x" * 25_000}, MessageCreate, "The message can be at most 20,000 characters."),
        ({"to": ""}, AccountTest, "To cannot be empty."),
        ({"participant_id": "nope"}, MessageCreate, "Participant id must be picked from the list."),
        ({}, AccountTest, "To must be given."),
        ({"to": "x", "cc": "y"}, AccountTest, "Cc cannot be sent with this form."),
        ({"webhook_method": "GET"}, CustomerUpdate, "The method must be one of the choices."),
    ],
)  # fmt: skip
def test_validator_messages_in_plain_words(data, kind, words):
    message = refusal(data, kind)
    assert explain(message, LABELS) == words
    assert "`" not in words and "$" not in words


def test_numbers_bounds_and_the_field_litestar_names():
    Age = Annotated[int, msgspec.Meta(ge=60)]
    assert explain(refusal({"expire": 5}, dict[str, Age]), {}) == FALLBACK  # no field named
    assert explain("Expected `int` >= 60 - at `$.expire`") == "Expire must be at least 60."
    assert (
        explain("Expected `int`, got `str` - at `$.page_size`")
        == "Page size must be a whole number."
    )
    # Litestar reports the field beside the message
    assert explain(
        "Expected `str`, got `array`", {"owner_id": "The assignee"}, field="owner_id"
    ) == ("The assignee must be text.")
    assert explain("Missing required query parameter 'after' for path /inbox/more") == (
        "After must be given."
    )


def test_fields_and_labels():
    assert field_of("Expected `str` of length <= 64 - at `$.tags[3]`") == "tags"
    assert field_of("Expected `str` of length <= 9 - at `$.settings.phone_number`") == (
        "settings.phone_number"
    )
    assert field_of("Object missing required field `to` - at `$.account`") == "account.to"
    assert field_of("Expected `object`, got `array`") == ""
    assert label_for("settings.phone_number", {"settings.phone_number": "Phone number"}) == (
        "Phone number"
    )
    assert label_for("settings.region", {"region": "Region"}) == "Region"
    assert label_for("target_name") == "Target name"
    # a message about no field at all never guesses
    assert explain("Expected `object`, got `array`") == FALLBACK
