"""The automation's pure rules (app/domain/automation.py): each field with each operator
it takes, `all` and `any`, what a client may not send, an action in words, and RE2's
bound on a pattern that makes a backtracking engine run for ever."""

from __future__ import annotations

import time

import pytest

from app.domain.automation import (
    Action,
    ActionType,
    Condition,
    Facts,
    InvalidRule,
    Operator,
    check_action,
    check_condition,
    describe,
    evaluate,
    holds,
    undone,
)

pytestmark = pytest.mark.pure

ROOM = Facts(
    channel="email",
    account_id="11111111-1111-1111-1111-111111111111",
    team_id=None,
    assignee_id="22222222-2222-2222-2222-222222222222",
    status="active",
    priority="high",
    tags=["VIP", "billing"],
    text="Hello, I need a REFUND for order #42",
    contact_addresses=["ann@big.example", "+15550001234"],
    contact_tags=["Gold"],
    attributes={"plan": "Enterprise", "seats": 40},
    open_now=False,
)


def c(field: str, op: str, value=None) -> Condition:
    return check_condition(Condition(field=field, operator=Operator(op), value=value), "c")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (("channel", "equals", "email"), True),
        (("channel", "not_equals", "email"), False),
        (("channel", "in", ["message", "email"]), True),
        (("channel", "not_in", ["message", "line"]), True),
        (("status", "equals", "closed"), False),
        (("priority", "in", ["urgent"]), False),
        (("account_id", "equals", "11111111-1111-1111-1111-111111111111"), True),
        (("team_id", "is_set", None), False),
        (("team_id", "is_not_set", None), True),
        (("assignee_id", "is_set", None), True),
        (("assignee_id", "not_in", ["22222222-2222-2222-2222-222222222222"]), False),
        (("tags", "includes", "vip"), True),  # names compare case-insensitively
        (("tags", "includes", ["spam", "billing"]), True),
        (("tags", "excludes", ["spam"]), True),
        (("tags", "is_not_set", None), False),
        (("text", "contains", "refund"), True),
        (("text", "not_contains", "refund"), False),
        (("text", "starts_with", "hello"), True),
        (("text", "ends_with", "#42"), True),
        (("text", "equals", "hello"), False),
        (("text", "matches", r"order #\d+"), True),
        (("text", "matches", r"^refund"), False),
        (("contact_address", "ends_with", "@big.example"), True),
        (("contact_address", "equals", "+15550001234"), True),
        (("contact_address", "not_contains", "big.example"), False),
        (("contact_tag", "includes", "gold"), True),
        (("attribute.plan", "equals", "enterprise"), True),
        (("attribute.seats", "equals", "40"), True),
        (("attribute.region", "is_not_set", None), True),
        (("attribute.region", "not_equals", "EU"), True),
        (("business_hours", "outside", None), True),
        (("business_hours", "within", None), False),
    ],
)
def test_each_field_and_operator(condition, expected):
    ok, _ = holds(c(*condition), ROOM)
    assert ok is expected


def test_a_room_without_business_hours_is_always_within_them():
    always = Facts(**{**{f: getattr(ROOM, f) for f in ROOM.__struct_fields__}, "open_now": None})
    assert holds(c("business_hours", "within"), always)[0] is True
    assert holds(c("business_hours", "outside"), always)[0] is False


def test_all_and_any_and_what_the_results_show():
    yes, no = c("channel", "equals", "email"), c("priority", "equals", "low")
    assert evaluate("all", [yes, no], ROOM)[0] is False
    ok, results = evaluate("any", [no, yes], ROOM)
    assert ok is True and [r.ok for r in results] == [False, True]
    assert results[0].actual == "high"
    assert evaluate("all", [], ROOM)[0] is True
    assert evaluate("any", [], ROOM)[0] is True  # a rule without conditions always matches
    long = Facts(**{**{f: getattr(ROOM, f) for f in ROOM.__struct_fields__}, "text": "x" * 500})
    [shown] = evaluate("all", [c("text", "contains", "x")], long)[1]
    assert len(shown.actual) == 201  # cut for the run's record


@pytest.mark.parametrize(
    ("field", "op", "value", "where"),
    [
        ("mood", "equals", "x", "c.field"),
        ("attribute.", "equals", "x", "c.field"),
        ("tags", "contains", "x", "c.operator"),
        ("business_hours", "within", "x", "c.value"),
        ("priority", "equals", "asap", "c.value"),
        ("channel", "in", "email", "c.value"),
        ("channel", "in", [], "c.value"),
        ("team_id", "equals", "billing", "c.value"),
        ("text", "matches", "(", "c.value"),
        ("text", "matches", "a" * 501, "c.value"),
        ("text", "matches", r"(a)\1", "c.value"),  # backreferences: RE2 has none
        ("text", "contains", "", "c.value"),
        ("text", "contains", True, "c.value"),
        ("text", "contains", ["a"], "c.value"),
    ],
)
def test_what_a_condition_may_not_say(field, op, value, where):
    with pytest.raises(InvalidRule) as refused:
        check_condition(Condition(field=field, operator=Operator(op), value=value), "c")
    assert refused.value.field == where


@pytest.mark.parametrize(
    ("type", "value"),
    [
        ("assign", None),
        ("assign", "bob"),
        ("move_team", 3),
        ("add_tags", []),
        ("add_tags", ["  "]),
        ("set_priority", "asap"),
        ("send_canned", None),
        ("add_note", ""),
        ("add_note", "x" * 4001),
        ("snooze", 0),
        ("snooze", True),
        ("snooze", "60"),
        ("close", "now"),
        ("route", "team"),
        ("notify", []),
        ("notify", ["boss"]),
    ],
)
def test_what_an_action_may_not_say(type, value):
    with pytest.raises(InvalidRule):
        check_action(Action(type=ActionType(type), value=value), "a")


def test_actions_are_stored_in_one_form_and_said_in_words():
    assert check_action(Action(type=ActionType.ADD_TAGS, value=" vip "), "a").value == ["vip"]
    note = check_action(Action(type=ActionType.NOTIFY, value=["TEAM", "team"]), "a")
    assert note.value == ["team"]
    assert describe(Action(type=ActionType.SNOOZE, value=None)) == (
        "snoozed the conversation until the customer replies"
    )
    assert describe(Action(type=ActionType.ADD_TAGS, value=["a", "b"])) == "added tags a, b"
    assert describe(Action(type=ActionType.ASSIGN, value="x"), {"x": "Ann"}) == (
        "assigned the conversation to Ann"
    )
    assert undone("assigned the conversation to Ann") == "assign the conversation to Ann"
    assert undone("set priority high") == "set priority high"


def test_a_catastrophic_pattern_takes_linear_time():
    condition = c("text", "matches", "(a+)+$")
    slow = Facts(**{**{f: getattr(ROOM, f) for f in ROOM.__struct_fields__},
                    "text": "a" * 50_000 + "!"})  # fmt: skip
    started = time.perf_counter()
    assert holds(condition, slow)[0] is False
    # Python's re needs 2^n steps here; RE2 is done in about a millisecond
    assert time.perf_counter() - started < 0.5
