"""The satisfaction survey's pure rules (app/domain/csat.py): which text messages answer a
survey, the email link's signed token, and an account's survey settings. No database."""

from __future__ import annotations

import uuid

import pytest

from app.domain import csat
from app.domain.errors import InvalidInput

pytestmark = pytest.mark.pure

KEY = "k" * 40


@pytest.mark.parametrize(
    ("text", "rating", "comment"),
    [
        ("4", 4, ""),
        (" 5 ", 5, ""),
        ("1", 1, ""),
        ("4 great service", 4, "great service"),
        ("2 - slow to answer", 2, "slow to answer"),
        ("3, ok I guess", 3, "ok I guess"),
        ("5!", 5, ""),
        ("4/5", 4, ""),
        ("4 / 5 thanks", 4, "thanks"),
        ("5\nyou were great\n\nthanks", 5, "you were great thanks"),
        ("3.", 3, ""),
    ],
)
def test_a_digit_from_1_to_5_alone_or_before_a_comment_is_an_answer(text, rating, comment):
    assert csat.parse_reply(text) == csat.Answer(rating, comment)


@pytest.mark.parametrize(
    "text",
    ["", "hello", "0", "6", "45", "10", "4pm works", "4th of July", "room 4", "-4", "four"],
)
def test_anything_else_is_an_ordinary_message(text):
    assert csat.parse_reply(text) is None


def test_a_comment_is_cut_to_its_limit():
    answer = csat.parse_reply("5 " + "x" * (csat.MAX_COMMENT + 50))
    assert answer is not None and len(answer.comment) == csat.MAX_COMMENT


def test_a_token_names_its_survey_and_nothing_else_passes():
    survey = uuid.uuid4()
    token = csat.token_for(KEY, survey)
    assert csat.survey_of_token(KEY, token) == str(survey)
    assert token == csat.token_for(KEY, str(survey))  # stable: the same link every time
    head, mac = token.split(".")
    other = csat.token_for(KEY, uuid.uuid4())
    tampered = [
        other.split(".")[0] + "." + mac,  # another survey's id with this signature
        head + "." + ("A" if mac[0] != "A" else "B") + mac[1:],  # a changed signature
        head + "." + mac[:-1],  # cut short
        token + "x",
        head,
        "",
        "....",
        "é" * 22 + "." + mac,
        "\x00" * 47,
    ]
    for bad in tampered:
        assert csat.survey_of_token(KEY, bad) is None, bad
    assert csat.survey_of_token("another-key-" + "k" * 30, token) is None


def test_settings_default_to_off_and_fill_in_what_is_unset():
    assert csat.settings_of({}) == csat.CsatSettings(
        enabled=False, question=csat.DEFAULT_QUESTION, delay=0
    )
    on = csat.settings_of({"csat": "on", "csat_question": "  How did we do? ", "csat_delay": 90})
    assert on == csat.CsatSettings(enabled=True, question="How did we do?", delay=90)
    # what an older or hand-edited row may hold never breaks sending
    assert csat.settings_of({"csat": "on", "csat_delay": "soon"}).delay == 0
    assert csat.settings_of({"csat": "on", "csat_delay": 10**9}).delay == csat.MAX_DELAY


def test_the_settings_an_admin_gives_are_checked_and_stored_typed():
    assert csat.normalized({"csat_delay": "300"}) == {"csat_delay": 300}
    assert csat.normalized({"csat_delay": 0, "csat_question": "  Rate us  "}) == {
        "csat_delay": 0,
        "csat_question": "Rate us",
    }
    assert csat.normalized({"csat_question": "   "}) == {}  # blank: the default
    for bad in ("-1", "1.5", "soon", str(csat.MAX_DELAY + 1), True, ""):
        with pytest.raises(InvalidInput) as refused:
            csat.normalized({"csat_delay": bad})
        assert "`csat_delay`" in refused.value.message
    with pytest.raises(InvalidInput):
        csat.normalized({"csat_question": "x" * (csat.MAX_QUESTION + 1)})


def test_links_and_the_widget_do_not_ask_to_reply_with_a_number():
    assert csat.shown_question(csat.DEFAULT_QUESTION) == csat.LINK_QUESTION
    assert csat.shown_question("Rate us!") == "Rate us!"
    body = csat.link_text(csat.DEFAULT_QUESTION, "https://desk.example/csat/abc")
    assert body.startswith(csat.LINK_QUESTION) and "https://desk.example/csat/abc" in body
    assert csat.rated_line(4, "") == "The customer rated the conversation 4/5"
    assert csat.rated_line(2, "slow") == "The customer rated the conversation 2/5: “slow”"
