"""What the contact search matches, and how a query becomes an index range. Pure rules.

Semantics (Chatwoot's): a contact matches when the query, lower-cased, starts any of its
name words, or several in a row ("ann smi" finds Mary Ann Smith), or one of its addresses (a phone
number with or without its `+`). The words are stored in the C collation, where byte order
is code point order, so "starts with q" is the range [q, q with its last character
incremented) of a plain btree: no extension (pg_trgm) needed.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_WORD = 200
"""Longer words are cut: a btree entry has a size limit, and nobody types that much."""


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def search_words(names: Iterable[str], addresses: Iterable[tuple[str, str]]) -> list[str]:
    """`names`: first, last, display name, company...; `addresses`: (type, target)."""
    found: dict[str, None] = {}
    for name in names:
        words = _norm(name).split(" ")
        # every tail of the name from a word on: "mary ann smith", "ann smith", "smith"
        # — a prefix of one of them starts a word (or several words in a row)
        for i in range(len(words)):
            found[" ".join(words[i:])[:MAX_WORD]] = None
    for kind, target in addresses:
        target = target.lower()
        found[target[:MAX_WORD]] = None
        if kind in ("tel", "whatsapp"):
            found[target.lstrip("+")[:MAX_WORD]] = None
    found.pop("", None)
    return list(found)


def prefix_range(query: str) -> tuple[str, str | None] | None:
    """[low, high) holding every word that starts with the query; None for a blank one.
    `high` is None only when the query ends in the last code point (no upper bound)."""
    low = _norm(query)[:MAX_WORD]
    if not low:
        return None
    last = ord(low[-1])
    if last >= 0x10FFFF:
        return low, None
    bump = last + 1
    if 0xD800 <= bump <= 0xDFFF:  # surrogates are not characters PostgreSQL stores
        bump = 0xE000
    return low, low[:-1] + chr(bump)
