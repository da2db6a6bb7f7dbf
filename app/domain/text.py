"""Text that PostgreSQL can store.

`text` and `jsonb` columns refuse U+0000 (NUL), and a lone UTF-16 surrogate (U+D800 to
U+DFFF, which Python strings can hold but UTF-8 cannot encode) fails before it reaches the
database. Doors that take people's input refuse such text and name the field; doors that
take a provider's signed message remove the characters instead, so the message is kept.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """The first character of `value` that cannot be stored, as "U+0000"; None if all can."""
    found = _UNSTORABLE.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def storable(value: str) -> str:
    """`value` without the characters that cannot be stored."""
    return _UNSTORABLE.sub("", value)
