"""Reaction emoji: short names and Unicode spellings of one emoji are one reaction;
anything else is not a reaction. Plain functions."""

from __future__ import annotations

import pytest

from app.domain import emoji

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("thumbsup", "👍"),
        (":thumbsup:", "👍"),
        ("+1", "👍"),
        (" :TADA: ", "🎉"),
        ("👍", "👍"),
        ("👍\ufe0f", "👍"),  # a redundant presentation selector is dropped
        ("❤", "❤️"),  # and a needed one is added: ❤ and ❤️ are one reaction
        ("❤️", "❤️"),
        ("1\u20e3", "1\ufe0f\u20e3"),  # keycaps get their selector
        ("1\ufe0f\u20e3", "1\ufe0f\u20e3"),
        ("👩\u200d💻", "👩\u200d💻"),  # joined sequences stay whole
        ("🇯🇵", "🇯🇵"),
    ],
)
def test_spellings_of_one_emoji_are_one_reaction(given, stored):
    assert emoji.normalize(given) == stored


@pytest.mark.parametrize("given", ["", "abc", "°", "\u200d", "1", "1x", "👍" * 20, "not-a-name"])
def test_what_is_not_an_emoji_is_none(given):
    assert emoji.normalize(given) is None


def test_every_short_name_and_the_picker_name_real_emoji():
    for name, value in emoji.SHORT_NAMES.items():
        assert emoji.normalize(value) == value, name
    assert all(emoji.normalize(e) == e for e in emoji.PICKER)
