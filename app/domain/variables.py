"""Variables in canned replies: `{{contact.name}}`, `{{agent.name}}`... Pure rules, no I/O.

A variable is `{{ name }}` (spaces inside the braces allowed) whose name is one of
`VARIABLES`; anything else between double braces — a typo, a variable we do not know,
a template language the customer pasted — stays exactly as typed, so filling never loses
text. Filling for the desk's HTML escapes the reply's own text and the values alike
(a contact may call themselves `<script>`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup, escape

VARIABLES: dict[str, str] = {
    "contact.name": "The customer's name",
    "contact.first_name": "The customer's first name",
    "contact.last_name": "The customer's last name",
    "contact.email": "The customer's email address",
    "contact.phone": "The customer's phone number",
    "agent.name": "Your name",
    "agent.first_name": "Your first name",
    "conversation.id": "The conversation's id",
    "conversation.name": "The conversation's name",
}
"""Every variable a reply may hold, with what it becomes (the desk's help lists them)."""

_VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known variable replaced by its value ("" when the room has none,
    e.g. no email); unknown ones stay as typed. Plain text: for the API and the reply box."""
    return _VARIABLE.sub(lambda m: _value(m, values), text)


def fill_html(text: str, values: Mapping[str, str]) -> Markup:
    """`fill` for an HTML page: the reply's own text and every value escaped, each filled
    value marked (`<span class="var">`) so the agent sees what was filled in."""
    out: list[str] = []
    at = 0
    for m in _VARIABLE.finditer(text):
        out.append(escape(text[at : m.start()]))
        if m.group(1) in VARIABLES:
            out.append(Markup('<span class="var">%s</span>') % values.get(m.group(1), ""))
        else:
            out.append(escape(m.group(0)))
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _value(m: re.Match[str], values: Mapping[str, str]) -> str:
    name = m.group(1)
    return values.get(name, "") if name in VARIABLES else m.group(0)


def split_name(name: str) -> tuple[str, str]:
    """(first, last) of a person's name as one string: "Ana María López" → ("Ana",
    "María López"). A name with one word has no last name."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()
