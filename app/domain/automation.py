"""Automation's pure part: what a rule or a macro may say, the checks of what a client
sends, and the evaluation of a rule's conditions against the facts of one room.

A condition is `{field, operator, value}`; a rule's conditions combine with `match`
(`all` or `any`). An action is `{type, value}`; rules and macros share the same actions.
Nothing here touches the database: `app/automation` gathers a room's facts
(`Facts`) and runs the actions through the services that own them.

Text patterns (`matches`) are compiled by RE2, whose matching time is linear in the text:
no pattern, however written, backtracks catastrophically. Python's `re` has no such bound
and cannot be interrupted (it holds the interpreter), so a pattern like `(a+)+$` against a
long message would stall the whole process.
"""

from __future__ import annotations

import functools
import re
import uuid
from enum import StrEnum
from typing import Annotated, Any

import msgspec
import re2

from app.domain.enums import ConversationStatus, Priority, ReferenceType

MAX_CONDITIONS = 20
MAX_ACTIONS = 20
MAX_PATTERN = 500
MAX_TEXT_SEARCHED = 65_536
"""How much of a message the text conditions look at (a long email's first 64 KiB)."""
MAX_MINUTES = 525_600
"""A time trigger or a snooze of at most a year."""
MAX_DEPTH = 3
"""How deep rules may trigger rules: a rule's action that changes the room records events,
and those events may trigger rules again, up to this depth (depth 0 is the change a person,
a channel or a timer made). Past it, rules are not run: a rule that undoes another's
change, or one that re-triggers itself, stops here."""


class Trigger(StrEnum):
    CONVERSATION_CREATED = "conversation_created"
    MESSAGE_RECEIVED = "message_received"
    MESSAGE_SENT = "message_sent"
    CONVERSATION_UPDATED = "conversation_updated"
    NO_AGENT_REPLY = "no_agent_reply"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    SNOOZE_WOKE = "snooze_woke"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"


TIME_TRIGGERS = frozenset({Trigger.NO_AGENT_REPLY, Trigger.WAITING_ON_CUSTOMER})
"""Triggers a worker fires as time passes (`trigger_minutes` after the room's turn began);
the others follow an event, in the transaction that recorded it."""


class Match(StrEnum):
    ALL = "all"
    ANY = "any"


class Field(StrEnum):
    CHANNEL = "channel"
    ACCOUNT_ID = "account_id"
    TEAM_ID = "team_id"
    ASSIGNEE_ID = "assignee_id"
    STATUS = "status"
    PRIORITY = "priority"
    TAGS = "tags"
    TEXT = "text"
    CONTACT_ADDRESS = "contact_address"
    CONTACT_TAG = "contact_tag"
    BUSINESS_HOURS = "business_hours"


ATTRIBUTE_PREFIX = "attribute."
"""`attribute.<key>`: one of the contact's attributes (`{"plan": "enterprise"}`)."""


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    INCLUDES = "includes"
    EXCLUDES = "excludes"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"
    WITHIN = "within"
    OUTSIDE = "outside"


class ActionType(StrEnum):
    ASSIGN = "assign"
    ROUTE = "route"
    MOVE_TEAM = "move_team"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_PRIORITY = "set_priority"
    SEND_CANNED = "send_canned"
    ADD_NOTE = "add_note"
    SNOOZE = "snooze"
    CLOSE = "close"
    REOPEN = "reopen"
    NOTIFY = "notify"


_CHOICE = (
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.IN,
    Operator.NOT_IN,
)
_OPTIONAL_CHOICE = (*_CHOICE, Operator.IS_SET, Operator.IS_NOT_SET)
_TEXT = (
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.CONTAINS,
    Operator.NOT_CONTAINS,
    Operator.STARTS_WITH,
    Operator.ENDS_WITH,
    Operator.MATCHES,
    Operator.IS_SET,
    Operator.IS_NOT_SET,
)
_LIST = (Operator.INCLUDES, Operator.EXCLUDES)

OPERATORS: dict[str, tuple[Operator, ...]] = {
    Field.CHANNEL: _CHOICE,
    Field.ACCOUNT_ID: _OPTIONAL_CHOICE,
    Field.TEAM_ID: _OPTIONAL_CHOICE,
    Field.ASSIGNEE_ID: _OPTIONAL_CHOICE,
    Field.STATUS: _CHOICE,
    Field.PRIORITY: _CHOICE,
    Field.TAGS: (*_LIST, Operator.IS_SET, Operator.IS_NOT_SET),
    Field.TEXT: _TEXT,
    Field.CONTACT_ADDRESS: _TEXT,
    Field.CONTACT_TAG: (*_LIST, Operator.IS_SET, Operator.IS_NOT_SET),
    Field.BUSINESS_HOURS: (Operator.WITHIN, Operator.OUTSIDE),
}
"""Which operators each field takes (`attribute.<key>` takes the text ones)."""

_CHOICES: dict[str, frozenset[str]] = {
    Field.CHANNEL: frozenset(r.value for r in ReferenceType),
    Field.STATUS: frozenset(s.value for s in ConversationStatus),
    Field.PRIORITY: frozenset(p.value for p in Priority),
}
_ID_FIELDS = frozenset({Field.ACCOUNT_ID, Field.TEAM_ID, Field.ASSIGNEE_ID})

NOTIFY_ASSIGNEE = "assignee"
NOTIFY_TEAM = "team"
"""`notify`'s value names agents by id, or `assignee` (the room's) and `team` (the
members of the room's team)."""

# --- shapes (the API's; resources.py re-exports them) ------------------------------------

Value = str | int | float | bool | list[str] | None
RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=MAX_MINUTES)]


class Condition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    field: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    """`channel`, `account_id`, `team_id`, `assignee_id`, `status`, `priority`, `tags`,
    `text` (the message's; for triggers without one, the room's last message),
    `contact_address`, `contact_tag`, `business_hours`, or `attribute.<key>`."""
    operator: Operator
    value: Value = None


class Action(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: ActionType
    value: Value = None


Conditions = Annotated[list[Condition], msgspec.Meta(max_length=MAX_CONDITIONS)]
Actions = Annotated[list[Action], msgspec.Meta(min_length=1, max_length=MAX_ACTIONS)]


class InvalidRule(ValueError):
    """A condition or action that cannot work; `field` names where (`conditions[2].value`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- checking what a client sends --------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def compiled(pattern: str) -> Any:
    """An RE2 pattern, case-insensitive (compiled once per process)."""
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 1 << 20  # a pattern whose automaton needs more is refused
    return re2.compile(pattern, options=options)


def check_pattern(pattern: str, where: str) -> None:
    if len(pattern) > MAX_PATTERN:
        raise InvalidRule(where, f"A pattern is at most {MAX_PATTERN} characters.")
    try:
        compiled(pattern)
    except (re2.error, re.error, ValueError, TypeError) as exc:
        raise InvalidRule(where, f"Not a usable pattern: {exc}.") from None


def _is_id(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _strings(value: Any, where: str, *, allow_one: bool) -> list[str]:
    if isinstance(value, str) and allow_one:
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 100
        or not all(isinstance(v, str) and 0 < len(v) <= 255 for v in value)
    ):
        raise InvalidRule(where, "A list of 1 to 100 non-empty strings is needed.")
    return value


def check_condition(c: Condition, where: str) -> Condition:
    """The condition as stored (ids lowercased), or InvalidRule."""
    field = c.field
    if field.startswith(ATTRIBUTE_PREFIX):
        key = field[len(ATTRIBUTE_PREFIX) :]
        if not key or len(key) > 100:
            raise InvalidRule(f"{where}.field", "attribute.<key> needs a key (1-100 characters).")
        allowed: tuple[Operator, ...] = _TEXT
    elif field in OPERATORS:
        allowed = OPERATORS[field]
    else:
        known = ", ".join([*OPERATORS, "attribute.<key>"])
        raise InvalidRule(f"{where}.field", f"Unknown field {field!r}; one of {known}.")
    op = c.operator
    if op not in allowed:
        names = ", ".join(allowed)
        raise InvalidRule(f"{where}.operator", f"{field} takes {names}.")
    value = c.value
    at = f"{where}.value"
    if op in (Operator.IS_SET, Operator.IS_NOT_SET, Operator.WITHIN, Operator.OUTSIDE):
        if value is not None:
            raise InvalidRule(at, f"{op.value} takes no value (null).")
        return c
    if op in (Operator.IN, Operator.NOT_IN, Operator.INCLUDES, Operator.EXCLUDES):
        items = _strings(value, at, allow_one=op in (Operator.INCLUDES, Operator.EXCLUDES))
    else:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidRule(at, f"{op.value} needs a text value.")
        value = str(value)
        if not value or len(value) > 1000:
            raise InvalidRule(at, "The value is 1 to 1000 characters.")
        items = [value]
    if field in _CHOICES:
        wrong = [v for v in items if v not in _CHOICES[field]]
        if wrong:
            raise InvalidRule(
                at, f"{wrong[0]!r} is not a {field}; one of {', '.join(sorted(_CHOICES[field]))}."
            )
    if field in _ID_FIELDS:
        if not all(_is_id(v) for v in items):
            raise InvalidRule(at, f"{field} compares with ids (UUIDs).")
        items = [v.lower() for v in items]
    if op is Operator.MATCHES:
        check_pattern(items[0], at)
    if isinstance(value, list) or op in (Operator.INCLUDES, Operator.EXCLUDES):
        return Condition(field=field, operator=op, value=items)
    return Condition(field=field, operator=op, value=items[0])


def check_action(a: Action, where: str) -> Action:
    """The action as stored, or InvalidRule. Whether an id names something of the
    customer's is the service's check."""
    t, value, at = a.type, a.value, f"{where}.value"
    if t in (ActionType.ROUTE, ActionType.CLOSE, ActionType.REOPEN):
        if value is not None:
            raise InvalidRule(at, f"{t.value} takes no value (null).")
    elif t in (ActionType.ASSIGN, ActionType.SEND_CANNED):
        if not _is_id(value):
            raise InvalidRule(at, f"{t.value} needs an id.")
        value = str(value).lower()
    elif t is ActionType.MOVE_TEAM:
        if value is not None and not _is_id(value):
            raise InvalidRule(at, "move_team needs a team id (null: out of every team).")
        value = str(value).lower() if value is not None else None
    elif t in (ActionType.ADD_TAGS, ActionType.REMOVE_TAGS):
        value = [v.strip() for v in _strings(value, at, allow_one=True)]
        if not all(value) or len(value) > 50:
            raise InvalidRule(at, "Tags are 1 to 50 non-blank names.")
    elif t is ActionType.SET_PRIORITY:
        if value not in _CHOICES[Field.PRIORITY]:
            raise InvalidRule(at, f"A priority: {', '.join(p.value for p in Priority)}.")
    elif t is ActionType.ADD_NOTE:
        if not isinstance(value, str) or not value.strip() or len(value) > 4000:
            raise InvalidRule(at, "add_note needs a text of 1 to 4000 characters.")
    elif t is ActionType.SNOOZE:
        minutes = value if isinstance(value, int) and not isinstance(value, bool) else 0
        if value is not None and not 1 <= minutes <= MAX_MINUTES:
            raise InvalidRule(
                at, "snooze takes minutes (1 to 525600), or null: until the customer replies."
            )
    elif t is ActionType.NOTIFY:
        value = list(dict.fromkeys(v.lower() for v in _strings(value, at, allow_one=True)))
        special = {NOTIFY_ASSIGNEE, NOTIFY_TEAM}
        if not all(v in special or _is_id(v) for v in value):
            raise InvalidRule(at, "notify names agents by id, or assignee, or team.")
    return Action(type=t, value=value)


def check_trigger(trigger: Trigger, minutes: int | None) -> None:
    if trigger in TIME_TRIGGERS and minutes is None:
        raise InvalidRule("trigger_minutes", f"{trigger.value} needs trigger_minutes.")
    if trigger not in TIME_TRIGGERS and minutes is not None:
        raise InvalidRule("trigger_minutes", f"{trigger.value} takes no trigger_minutes (null).")


def check_all(
    conditions: list[Condition], actions: list[Action]
) -> tuple[list[Condition], list[Action]]:
    return (
        [check_condition(c, f"conditions[{i}]") for i, c in enumerate(conditions)],
        [check_action(a, f"actions[{i}]") for i, a in enumerate(actions)],
    )


# --- evaluation --------------------------------------------------------------------------


class Facts(msgspec.Struct, kw_only=True, frozen=True):
    """What the conditions look at, for one room at one moment."""

    channel: str
    account_id: str | None
    team_id: str | None
    assignee_id: str | None
    status: str
    priority: str
    tags: list[str]
    text: str | None
    """The message's text (message triggers), else the room's last message."""
    contact_addresses: list[str]
    contact_tags: list[str]
    attributes: dict[str, Any]
    open_now: bool | None
    """Within the room's business hours now; None when it has no calendar (always open)."""


class ConditionResult(msgspec.Struct, kw_only=True):
    field: str
    operator: str
    value: Value
    actual: Any
    """What the room had (a message's text is cut to 200 characters here)."""
    ok: bool


_FACT: dict[str, str] = {
    Field.CHANNEL: "channel",
    Field.ACCOUNT_ID: "account_id",
    Field.TEAM_ID: "team_id",
    Field.ASSIGNEE_ID: "assignee_id",
    Field.STATUS: "status",
    Field.PRIORITY: "priority",
    Field.TAGS: "tags",
    Field.TEXT: "text",
    Field.CONTACT_ADDRESS: "contact_addresses",
    Field.CONTACT_TAG: "contact_tags",
    Field.BUSINESS_HOURS: "open_now",
}
"""Which of the Facts each field looks at (a lookup, not a dict built per condition: a
message is tried against every rule of its trigger)."""


def _actual(facts: Facts, field: str) -> Any:
    if field.startswith(ATTRIBUTE_PREFIX):
        found = facts.attributes.get(field[len(ATTRIBUTE_PREFIX) :])
        return None if found is None else str(found) if not isinstance(found, str) else found
    return getattr(facts, _FACT[field])


@functools.lru_cache(maxsize=64)
def _searched(actual: str) -> tuple[str, str]:
    """The part of a text that is searched, as it is and casefolded: a message's text is
    tried against every rule of its trigger, each time folded again otherwise."""
    actual = actual[:MAX_TEXT_SEARCHED]
    return actual, actual.casefold()


@functools.lru_cache(maxsize=4096)
def _folded(value: str) -> str:
    """A condition's value, casefolded (once per process)."""
    return value.casefold()


def _text_test(op: Operator, value: str, actual: str) -> bool:
    actual, a = _searched(actual)
    if op is Operator.MATCHES:
        return compiled(value).search(actual) is not None
    v = _folded(value)
    if op is Operator.EQUALS:
        return a.strip() == v.strip()
    if op is Operator.NOT_EQUALS:
        return a.strip() != v.strip()
    if op is Operator.CONTAINS:
        return v in a
    if op is Operator.NOT_CONTAINS:
        return v not in a
    if op is Operator.STARTS_WITH:
        return a.lstrip().startswith(v)
    return a.rstrip().endswith(v)  # ENDS_WITH


_OPERATOR = {o.value: o for o in Operator}
_TEXT_TESTS = frozenset(
    {
        Operator.EQUALS,
        Operator.NOT_EQUALS,
        Operator.CONTAINS,
        Operator.NOT_CONTAINS,
        Operator.STARTS_WITH,
        Operator.ENDS_WITH,
        Operator.MATCHES,
    }
)


def holds(c: Condition, facts: Facts) -> tuple[bool, Any]:
    """Whether the condition holds, and what the room had."""
    actual = _actual(facts, c.field)
    op = _OPERATOR[c.operator]
    if (
        actual.__class__ is str
        and op in _TEXT_TESTS
        and c.field not in _CHOICES
        and c.field not in _ID_FIELDS
    ):
        # the common case first (a message's text against a word or a pattern): where the
        # checks below would end for a text, without going through them
        return _text_test(op, str(c.value), actual), actual
    if op is Operator.WITHIN:
        return actual is None or actual is True, actual
    if op is Operator.OUTSIDE:
        return actual is False, actual
    is_list = isinstance(actual, list)
    if op is Operator.IS_SET:
        return bool(actual), actual
    if op is Operator.IS_NOT_SET:
        return not actual, actual
    if op in (Operator.INCLUDES, Operator.EXCLUDES):
        wanted = {v.casefold() for v in c.value or []}  # type: ignore[union-attr]
        have = {str(v).casefold() for v in actual or []}
        hit = bool(wanted & have)
        return (hit if op is Operator.INCLUDES else not hit), actual
    if op in (Operator.IN, Operator.NOT_IN):
        hit = actual in (c.value or [])  # type: ignore[operator]
        return (hit if op is Operator.IN else not hit), actual
    value = str(c.value)
    if is_list:  # an address condition holds when one of the contact's addresses does
        negative = op in (Operator.NOT_EQUALS, Operator.NOT_CONTAINS)
        tests = [_text_test(op, value, str(a)) for a in actual]
        return (all(tests) if negative else any(tests)), actual
    if actual is None:
        return op in (Operator.NOT_EQUALS, Operator.NOT_CONTAINS), actual
    if c.field in _CHOICES or c.field in _ID_FIELDS:
        same = actual == value
        return (same if op is Operator.EQUALS else not same), actual
    return _text_test(op, value, str(actual)), actual


def _shown(actual: Any) -> Any:
    if isinstance(actual, str) and len(actual) > 200:
        return actual[:200] + "…"
    return actual


def matches(match: str, conditions: list[Condition], facts: Facts) -> bool:
    """`evaluate`'s verdict alone, without the results: the event path tries every rule
    of a trigger on every change, and records what the conditions found only for the
    rules that match."""
    if match == Match.ANY:
        for c in conditions:
            if holds(c, facts)[0]:
                return True
        return not conditions
    for c in conditions:
        if not holds(c, facts)[0]:
            return False
    return True


def evaluate(
    match: str, conditions: list[Condition], facts: Facts
) -> tuple[bool, list[ConditionResult]]:
    """Whether the rule's conditions hold (no conditions: always), with each one's
    result. `any` stops at the first that holds, `all` at the first that fails: the
    results list what was looked at."""
    results = []
    for c in conditions:
        ok, actual = holds(c, facts)
        results.append(
            ConditionResult(
                field=c.field, operator=c.operator, value=c.value, actual=_shown(actual), ok=ok
            )
        )
        if match == Match.ANY and ok:
            return True, results
        if match == Match.ALL and not ok:
            return False, results
    return (match == Match.ALL or not conditions), results


_INFINITIVE = {
    "assigned": "assign",
    "sent": "send",
    "moved": "move",
    "took": "take",
    "added": "add",
    "removed": "remove",
    "snoozed": "snooze",
    "closed": "close",
    "reopened": "reopen",
    "notified": "notify",
}


def undone(said: str) -> str:
    """ "added tag vip" as what could not be done: "add tag vip"."""
    verb, _, rest = said.partition(" ")
    return f"{_INFINITIVE.get(verb, verb)} {rest}".strip()


def describe(action: Action, names: dict[str, str] | None = None) -> str:
    """An action in words, for the room's system line and a preview ("set priority
    urgent"); `names` turns ids into names where the caller knows them."""
    names = names or {}
    v = action.value

    def name(x: Any) -> str:
        return names.get(str(x), str(x))

    t = ActionType(action.type)
    if t is ActionType.ASSIGN:
        return f"assigned the conversation to {name(v)}"
    if t is ActionType.ROUTE:
        return "sent the conversation to routing"
    if t is ActionType.MOVE_TEAM:
        return (
            f"moved the conversation to {name(v)}" if v else "took the conversation out of its team"
        )
    if t is ActionType.ADD_TAGS:
        return f"added tag{'s' if len(v) > 1 else ''} {', '.join(v)}"  # type: ignore[arg-type]
    if t is ActionType.REMOVE_TAGS:
        return f"removed tag{'s' if len(v) > 1 else ''} {', '.join(v)}"  # type: ignore[arg-type]
    if t is ActionType.SET_PRIORITY:
        return f"set priority {v}"
    if t is ActionType.SEND_CANNED:
        return f"sent the canned reply {name(v)}"
    if t is ActionType.ADD_NOTE:
        return "added a note"
    if t is ActionType.SNOOZE:
        return (
            f"snoozed the conversation for {v} minutes"
            if v
            else "snoozed the conversation until the customer replies"
        )
    if t is ActionType.CLOSE:
        return "closed the conversation"
    if t is ActionType.REOPEN:
        return "reopened the conversation"
    who = ", ".join(
        {NOTIFY_ASSIGNEE: "the assignee", NOTIFY_TEAM: "the team"}.get(x, name(x))
        for x in v  # type: ignore[union-attr]
    )
    return f"notified {who}"


# --- the API's resources -----------------------------------------------------------------


class AutomationRuleOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    name: str
    active: bool
    trigger: Trigger
    trigger_minutes: int | None
    """For `no_agent_reply` and `waiting_on_customer`: minutes since the room's turn began
    (business minutes when the room has business hours); null for the others."""
    match: Match
    conditions: list[Condition]
    actions: list[Action]
    position: int
    """Rules of a trigger run in this order (then oldest first)."""
    stop_processing: bool
    """When this rule matched, the rules after it do not run for that change."""
    tm_create: str
    tm_update: str
    tm_delete: str | None = None


class AutomationRulePage(msgspec.Struct, kw_only=True):
    result: list[AutomationRuleOut]
    next_page_token: str


class AutomationRuleCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName
    trigger: Trigger
    actions: Actions
    trigger_minutes: Minutes | None = None
    match: Match = Match.ALL
    conditions: Conditions = []
    active: bool = False
    """Rules start inactive: preview first, then enable."""
    position: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    """Omitted: after the customer's last rule."""
    stop_processing: bool = False


class AutomationRuleUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change."""

    name: RuleName | msgspec.UnsetType = msgspec.UNSET
    trigger: Trigger | msgspec.UnsetType = msgspec.UNSET
    trigger_minutes: Minutes | None | msgspec.UnsetType = msgspec.UNSET
    match: Match | msgspec.UnsetType = msgspec.UNSET
    conditions: Conditions | msgspec.UnsetType = msgspec.UNSET
    actions: Actions | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | msgspec.UnsetType = msgspec.UNSET
    stop_processing: bool | msgspec.UnsetType = msgspec.UNSET


class ActionResult(msgspec.Struct, kw_only=True):
    type: str
    value: Value
    ok: bool
    said: str
    """The action in words ("set priority urgent"), or what would happen (a preview)."""
    error: str | None = None
    """Why it failed: the error's reason and message (`invalid_owner: …`)."""


class AutomationRunOut(msgspec.Struct, kw_only=True):
    """One execution: a rule that matched a room, or a macro an agent applied."""

    id: str
    customer_id: str
    rule_id: str | None
    macro_id: str | None
    agent_id: str | None
    """The agent who applied the macro; null for a rule."""
    conversation_id: str
    trigger: str
    """The rule's trigger, or `macro`."""
    depth: int
    """0 when a person, a channel or a timer made the change; 1 and more when another
    rule's action did."""
    status: str
    """`done` (every action did), `partial` (some failed) or `failed` (none did)."""
    conditions: list[ConditionResult]
    actions: list[ActionResult]
    tm_create: str


class AutomationRunPage(msgspec.Struct, kw_only=True):
    result: list[AutomationRunOut]
    next_page_token: str


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    """How many of the latest conversations to try (at most 500)."""
    since: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """Only conversations created at or after this time (e.g. a week ago)."""


class PreviewItem(msgspec.Struct, kw_only=True):
    conversation_id: str
    name: str
    matched: bool
    conditions: list[ConditionResult]
    actions: list[ActionResult]
    """What would happen (`ok` false: it could not, e.g. a closed room cannot be snoozed);
    empty when the rule does not match."""


class PreviewOut(msgspec.Struct, kw_only=True):
    rule_id: str
    tried: int
    matched: int
    result: list[PreviewItem]


class MacroOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    owner_id: str | None
    """null: shared with every agent (admins manage it); else the agent's own."""
    name: str
    actions: list[Action]
    tm_create: str
    tm_update: str
    tm_delete: str | None = None


class MacroPage(msgspec.Struct, kw_only=True):
    result: list[MacroOut]
    next_page_token: str


class MacroCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName
    actions: Actions
    owner_id: Annotated[str, msgspec.Meta(max_length=64)] | None | msgspec.UnsetType = msgspec.UNSET
    """Omitted or your own id: a personal macro; null: a shared one (admins only)."""


class MacroUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName | msgspec.UnsetType = msgspec.UNSET
    actions: Actions | msgspec.UnsetType = msgspec.UNSET
