"""One Jinja environment for the desk: pages, htmx partials, and the HTML fragments the
desk websocket pushes — so a pushed row is what a page load renders. A partial that is
pushed renders its own out-of-band attributes when given `oob=True`
(templates/partials/oob.html says how). Autoescaping is on for every template: user text
is always shown as text."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine

from app.desk.links import linkify
from app.domain.participants import display_name, peers
from app.domain.timefmt import parse

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

CHANNELS = {
    # participant type / reference type: (short label, icon)
    "tel": ("SMS", "💬"),
    "message": ("SMS", "💬"),
    "email": ("Email", "✉"),
    "line": ("LINE", "🟩"),
    "webchat": ("Web chat", "🌐"),
    "whatsapp": ("WhatsApp", "🟢"),
    "agent": ("Agent", "👤"),
}


def is_htmx(request: Any) -> bool:
    """Whether htmx made the request (it then wants a fragment, not a page)."""
    return bool(request.headers.get("hx-request"))


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return parse(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reltime(value: Any, at: datetime | None = None) -> str:
    """ "now", "5m", "3h", "2d", or a date: how inbox lists show times."""
    when = _when(value)
    if when is None:
        return ""
    seconds = ((at or datetime.now(UTC)) - when).total_seconds()
    if seconds < 45:
        return "now"
    if seconds < 3600:
        return f"{round(seconds / 60)}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    if seconds < 7 * 86400:
        return f"{round(seconds / 86400)}d"
    return when.strftime("%b %d")


def sla_left(value: Any, at: datetime | None = None) -> str:
    """An SLA badge's countdown: "12m" or "1h05" left, "3m over" once past (the desk's
    script keeps it counting: static/js/desk.js)."""
    when = _when(value)
    if when is None:
        return "paused"
    seconds = (when - (at or datetime.now(UTC))).total_seconds()
    minutes = int(abs(seconds) // 60)
    text = f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes}m"
    return text if seconds >= 0 else f"{text} over"


def isotime(value: Any) -> str:
    when = _when(value)
    return when.isoformat() if when else ""


def clock(value: Any) -> str:
    when = _when(value)
    return when.strftime("%H:%M") if when else ""


def fulltime(value: Any) -> str:
    when = _when(value)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def day(value: Any) -> str:
    when = _when(value)
    return when.strftime("%A, %B %d, %Y") if when else ""


def channel_label(kind: str) -> str:
    return CHANNELS.get(kind, (kind, ""))[0]


def channel_icon(kind: str) -> str:
    return CHANNELS.get(kind, ("", "•"))[1]


def names_of(agent_ids: list[str], names: dict[str, str]) -> str:
    """Who reacted, as a reaction chip's title: "Ann, Bob"."""
    return ", ".join(names.get(a, "someone") for a in agent_ids)


def initials(name: str) -> str:
    """An avatar's letters: "Mina Kim" → "MK", "sam" → "S", "dana.scully@x.example" → "DS":
    the first letter of the first and the last word that have one (an email address
    counts by its local part). "" when there is none (a phone number): the avatar then
    shows a person's outline (partials/avatar.html)."""
    text = str(name or "")
    if "@" in text.strip(" @"):
        text = text.strip().split("@", 1)[0]
    words = [w for w in re.split(r"[\s._\-]+", text) if any(c.isalpha() for c in w)]
    if not words:
        return ""

    def first(word: str) -> str:
        return next(c for c in word if c.isalpha())

    letters = first(words[0]) + (first(words[-1]) if len(words) > 1 else "")
    return letters.upper()


AVATAR_COLORS = (
    "#1f5fd6",  # blue
    "#7c3aed",  # violet
    "#a21caf",  # purple
    "#be123c",  # rose
    "#c2410c",  # orange
    "#a16207",  # amber
    "#4d7c0f",  # lime
    "#15803d",  # green
    "#0f766e",  # teal
    "#0369a1",  # sky
)
"""An avatar's background: white initials on each pass WCAG AA (4.5:1 or more), in the light
and the dark theme alike (tests/test_polish.py checks every one)."""


def avatar_color(key: str | None) -> str:
    """The colour of the person `key` names (an agent id, a customer's address): the same
    on every page and in every process (CRC-32, not Python's salted hash)."""
    return AVATAR_COLORS[zlib.crc32(str(key or "").encode()) % len(AVATAR_COLORS)]


def contact_title(contact: Any) -> str:
    """What a contact (ContactOut) is called on the desk: its display name, its full
    name, else its first address (a contact made from an SMS has only its number)."""
    full = f"{contact.first_name} {contact.last_name}".strip()
    if contact.display_name or full:
        return contact.display_name or full
    return contact.addresses[0].target if contact.addresses else "Unnamed contact"


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        reltime=reltime,
        isotime=isotime,
        sla_left=sla_left,
        clock=clock,
        fulltime=fulltime,
        day=day,
        channel_label=channel_label,
        channel_icon=channel_icon,
        names_of=names_of,
        initials=initials,
        linkify=linkify,
        # a participant's name, "" for the placeholder ("Unknown"); the room's people
        # without the customer's own address ("me")
        display_name=display_name,
        peers=peers,
        contact_title=contact_title,
    )
    # The `placed` macro (partials/oob.html) wraps a pushed partial; a global, made once,
    # because a `{% from %}` import inside a partial that a page includes per row runs per
    # row (it cost the inbox page 15-20%).
    env.globals["placed"] = env.get_template("partials/oob.html").module.placed  # type: ignore[attr-defined]
    # One avatar everywhere (inbox rows, bubbles, Talk, the rail, admin pages): the macro
    # in partials/avatar.html, a global for the same reason as `placed`.
    env.globals["avatar_color"] = avatar_color
    env.globals["avatar"] = env.get_template("partials/avatar.html").module.avatar  # type: ignore[attr-defined]
    return env


environment = build_environment()
engine = JinjaTemplateEngine.from_environment(environment)


def render(template: str, **context: Any) -> str:
    """Render outside a request (websocket pushes). Forms rendered so have an empty CSRF
    field: htmx sends the token as a header (`hx-headers` on the page's body)."""
    return environment.get_template(template).render({"csrf_token": _no_csrf_field, **context})


@lru_cache(maxsize=1024)
def render_small(template: str, **context: int | str | bool | None) -> str:
    """`render` for a small fragment that every desk socket receives with the same few
    plain values (the event cursor, the talk dot): made once per distinct value, not once
    per socket — with a thousand sockets, rendering it each time was most of a push's CPU
    (docs/PERFORMANCE.md, desk fan-out)."""
    return render(template, **context)


def _no_csrf_field() -> str:
    return ""


def remove(*element_ids: str) -> str:
    """Pushed: remove the elements with these ids, where the page shows them."""
    return render("partials/placement.html", place="remove", ids=element_ids, oob=True)


def lock(*element_ids: str) -> str:
    """Pushed: make the forms inside these elements unusable (their text stays readable)."""
    return render("partials/placement.html", place="lock", ids=element_ids, oob=True)
