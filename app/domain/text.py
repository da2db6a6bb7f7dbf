"""Text PostgreSQL can store, and how deep a JSON document may nest.

PostgreSQL refuses U+0000 in `text` and in `jsonb` (`\\u0000`), and a lone UTF-16
surrogate (U+D800–U+DFFF, which Python strings can hold) cannot be encoded to UTF-8 at
all; every other code point is stored as given. So these are the only characters to keep
out: the API refuses them with a 422 naming the field, and provider input (a customer's
message, which must never be lost) has them removed with `strip_unstorable`.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

MAX_DEPTH = 32
"""Nesting levels a JSON body may have. Our deepest body needs four; a limit far below
the decoder's recursion limit means no hostile document ever reaches a recursive parser."""


def unstorable_char(value: str) -> str | None:
    """`U+0000` for the first character of `value` PostgreSQL cannot store; None if all can."""
    found = _UNSTORABLE.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def strip_unstorable(value: str) -> str:
    """`value` without the characters PostgreSQL cannot store."""
    return _UNSTORABLE.sub("", value)


def printable(value: str) -> str:
    """`value` with unstorable characters written as `\\u0000`, safe to show and to encode
    (an error message naming a field must not carry the character it complains about)."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


class TooDeep(ValueError):
    """A document nests deeper than MAX_DEPTH."""


def find_unstorable(document: Any, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """The first string in a decoded JSON document (a value or an object key, at any depth)
    PostgreSQL cannot store, as (field path like `participants[0].target`, `U+0000`);
    None when there is none. Raises TooDeep past `max_depth` levels. Iterative, so no
    document can exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if bad := unstorable_char(value):
                return path, bad
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                raise TooDeep(path)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = []
            for key, child in items:
                if isinstance(key, str):
                    name = f"{path}.{printable(key)}" if path else printable(key)
                    if bad := unstorable_char(key):
                        return name, bad
                else:
                    name = f"{path}[{key}]"
                children.append((child, name, depth + 1))
            stack.extend(reversed(children))  # report the first bad field in document order
    return None
