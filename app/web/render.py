"""One Jinja environment for the desk: pages, htmx partials, and the HTML fragments the
desk websocket pushes — so a pushed row is byte-for-byte what a page load renders.
Autoescaping is on for every template: user text is always shown as text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine

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
        clock=clock,
        fulltime=fulltime,
        day=day,
        channel_label=channel_label,
        channel_icon=channel_icon,
        names_of=names_of,
        # a participant's name, "" for the placeholder ("Unknown"); the room's people
        # without the customer's own address ("me")
        display_name=display_name,
        peers=peers,
    )
    return env


environment = build_environment()
engine = JinjaTemplateEngine.from_environment(environment)


def render(template: str, **context: Any) -> str:
    """Render outside a request (websocket pushes)."""
    return environment.get_template(template).render(**context)


# --- placing pushed fragments -----------------------------------------------------------
#
# htmx swaps an out-of-band element by its id and logs an error (`oobErrorNoTarget`) when
# the page has no such element — and a live page often lacks one: an inbox row outside
# the loaded page or the filter, a message older than the loaded history, a thread that
# is not open. So fragments whose target may be missing are not swapped by id: they are
# appended to `#live-updates`, a hidden box every desk page has, and the page's script
# (static/js/desk.js) places each one, in order, as its `data-place` says.

LIVE_BOX = "live-updates"


def placed(*fragments: str) -> str:
    """Fragments for the page's script to place, in this order."""
    return f'<div hx-swap-oob="beforeend:#{LIVE_BOX}">{"".join(fragments)}</div>'


def _mark(html: str, how: str, container: str = "") -> str:
    """Add `data-place` (and `data-in`) to the fragment's first element."""
    attrs = f' data-place="{how}"' + (f' data-in="{container}"' if container else "")
    start = html.index("<")
    end = start + 1
    while end < len(html) and (html[end].isalnum() or html[end] == "-"):
        end += 1
    return html[:end] + attrs + html[end:]


def swap(html: str) -> str:
    """Replace the element with this id, if the page shows it."""
    return _mark(html, "swap")


def swap_or_top(html: str, container: str) -> str:
    """Replace the element with this id; a page that lacks it gets it at the top of
    `container` (a row that changed without moving: shown where it is, or new here)."""
    return _mark(html, "swap-or-top", container)


def top(html: str, container: str) -> str:
    """Put the element at the top of `container`, dropping any copy the page shows."""
    return _mark(html, "top", container)


def end(html: str, container: str) -> str:
    """Put the element at the end of `container`, dropping any copy the page shows."""
    return _mark(html, "end", container)


def remove(element_id: str) -> str:
    """Remove the element with this id, if the page shows it."""
    return f'<i hidden data-place="remove" data-id="{element_id}"></i>'


def lock(element_id: str) -> str:
    """Make the forms inside this element unusable (their text stays readable)."""
    return f'<i hidden data-place="lock" data-id="{element_id}"></i>'
