"""Validator messages in plain words, for people at the desk.

msgspec and Litestar describe a refused value for programs ("Expected `str` of length <= 64
- at `$.tags[3]`"); the API passes that on as it is, beside the field's name. An agent
reads "Tags can be at most 64 characters." instead. This module is the one translation: the
desk's error handler and its forms call it with their own field labels, and nothing
else shows validator text to a person. Sentences use modal verbs ("can be", "must be") so
that they read right with singular and plural labels alike ("Tags", "The message").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FALLBACK = "Some of the form could not be read; try again."

_PATH = re.compile(r"\s+-\s+at\s+`\$(?P<path>[^`]*)`\s*$")
_KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "yes or no",
    "array": "a list",
    "object": "a set of fields",
    "null": "empty",
    "uuid": "an id",
}


def field_of(message: str) -> str:
    """The field a validator message is about, as a dotted path without list positions
    ("tags", "settings.phone_number"); "" when it names none."""
    found = _PATH.search(message)
    path = found.group("path") if found else ""
    for pattern in (r"field `([^`]+)`", r"parameter '([^']+)'"):
        named = re.search(pattern, message)
        if named:  # a missing or unknown field is named in the message itself
            path = f"{path}.{named.group(1)}"
            break
    return ".".join(p for p in re.sub(r"\[[^\]]*\]", "", path).split(".") if p)


def label_for(field: str, labels: Mapping[str, str] | None = None) -> str:
    """How the form calls a field: its label, else its name in words ("target_name" →
    "Target name")."""
    labels = labels or {}
    if field in labels:
        return labels[field]
    last = field.rsplit(".", 1)[-1]
    if last in labels:
        return labels[last]
    words = last.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "This field"


def _number(text: str) -> str:
    return f"{int(text):,}" if text.isdigit() else text


def explain(message: str, labels: Mapping[str, str] | None = None, field: str | None = None) -> str:
    """A validator's message as a sentence that names the field in the form's words.
    `field` is the field when the caller knows it (Litestar reports it beside the
    message); otherwise it is read from the message."""
    field = field if field else field_of(message)
    if not field:
        return FALLBACK
    label = label_for(field, labels)
    what = _PATH.sub("", message).strip()

    if m := re.match(r"Expected `str` of length <= (\d+)", what):
        return f"{label} can be at most {_number(m.group(1))} characters."
    if m := re.match(r"Expected `str` of length >= (\d+)", what):
        if m.group(1) == "1":
            return f"{label} cannot be empty."
        return f"{label} must be at least {_number(m.group(1))} characters."
    if m := re.match(r"Expected `(?:array|object)` of length <= (\d+)", what):
        return f"{label} can hold at most {_number(m.group(1))} entries."
    if m := re.match(r"Expected `(?:array|object)` of length >= (\d+)", what):
        return f"{label} needs at least {_number(m.group(1))} entries."
    if what.startswith("Expected `str` matching regex '^[0-9A-Fa-f]{8}-"):  # an id (UUID)
        return f"{label} must be picked from the list."
    if re.match(r"Expected `str` matching regex", what):
        return f"{label} cannot be accepted as written."
    if m := re.match(r"Expected `(?:int|float|number)` (>=|>|<=|<) (-?[\d.]+)", what):
        bound = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}
        return f"{label} must be {bound[m.group(1)]} {_number(m.group(2))}."
    if m := re.match(r"Expected `(\w+)`(?: \| `\w+`)*, got `\w+`", what):
        return f"{label} must be {_KINDS.get(m.group(1), 'something else')}."
    if what.startswith("Invalid enum value"):
        return f"{label} must be one of the choices."
    if what.startswith(("Object missing required field", "Missing required")):
        return f"{label} must be given."
    if what.startswith("Object contains unknown field"):
        return f"{label} cannot be sent with this form."
    return f"{label} cannot be used as given."


def unstorable_message(label: str, character: str) -> str:
    """A field holding a character that cannot be stored (`text.unstorable_char`)."""
    return f"{label} cannot contain the character {character}; remove it and try again."
