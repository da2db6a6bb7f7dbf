"""Message text as the desk shows it: escaped, with its web addresses made into links.

`linkify` is pure (text in, markup out) and is the only place the desk turns user text
into HTML that is not plain escaped text: customer messages, agent replies, notes and
Talk messages all go through it (the `linkify` filter in app/desk/render.py).

Safety rests on three rules:
- Every character of the input is HTML-escaped exactly once, inside or outside a link:
  the addresses are found in the raw text and each piece is escaped as it is written out,
  which is the same as escaping first and never mistakes an escape (`&amp;`, `&lt;`) for
  part of an address or lets one be decoded back into markup.
- Only `http://`, `https://` and `www.` addresses become links (a `www.` one gets
  `https://`), so a `javascript:`, `data:` or `vbscript:` href can never be made: the href
  always begins with the scheme the pattern matched.
- Links open in a new tab without the opener, the referrer or any ranking credit
  (`rel="noopener nofollow noreferrer"`).

Punctuation that ends a sentence (`.`, `,`, `!`, `?`, `:`, `;`, quotes) is not part of an
address, and neither is a closing bracket without its opening one in the address: "(see
https://example.com/a)" links `https://example.com/a`, while
`https://en.wikipedia.org/wiki/Mercury_(planet)` keeps its `)`.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

URL = re.compile(
    # not in the middle of a word, an email address or a path ("me@www.x", "a.www.x")
    r"(?<![\w@./:-])"
    r"(?:https?://|www\.)"
    # no spaces, no control characters, nothing that ends an HTML attribute or tag
    r"[^\s<>\"'`\x00-\x1f\x7f]+",
    re.IGNORECASE,
)
TRAILING = ".,:;!?*'\"’”…"
PAIRS = {")": "(", "]": "[", "}": "{"}
MAX_TEXT = 100_000
"""Longer text is shown escaped only: a message that long is not read for its links."""


def _trim(url: str) -> str:
    """The address without the punctuation that ends the sentence around it."""
    while url:
        last = url[-1]
        if last in TRAILING:
            url = url[:-1]
        elif last in PAIRS and url.count(last) > url.count(PAIRS[last]):
            url = url[:-1]
        else:
            break
    return url


def _href(url: str) -> str | None:
    """Where the link goes, or None when the match holds no host."""
    lower = url.lower()
    if lower.startswith("www."):
        url, rest = "https://" + url, url[4:]
    else:
        rest = url.split("://", 1)[1]
    if not rest or not (rest[0].isalnum() or rest[0] == "["):  # "https://", "www..", "http://@"
        return None
    return url


def linkify(text: str | None) -> Markup:
    """`text` as HTML: escaped, its http(s) and www. addresses made into safe links."""
    if not text:
        return Markup("")
    if len(text) > MAX_TEXT:
        return escape(text)
    out: list[str] = []
    done = 0
    for match in URL.finditer(text):
        url = _trim(match.group(0))
        href = _href(url) if url else None
        if href is None:
            continue
        start = match.start()
        out.append(escape(text[done:start]))
        out.append(
            Markup('<a href="{}" rel="noopener nofollow noreferrer" target="_blank">{}</a>').format(
                href, url
            )
        )
        done = start + len(url)
    out.append(escape(text[done:]))
    return Markup("").join(out)
