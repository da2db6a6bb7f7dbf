"""The names a room's participants get when nobody gave one. Pure rules, no I/O.

A room holds the customer's own address as a participant named `ME` (the account its
messages go out from), and a peer nobody named as `UNKNOWN`. Both are stored in
`participants.target_name`, so the desk, the widget and the inbound path all read them
through this module: a placeholder is never shown or kept as if it were a person's name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

ME = "me"
UNKNOWN = "Unknown"
NO_NAME = ("", UNKNOWN)
"""The target names that say nothing about who a peer is."""


def has_name(target_name: str) -> bool:
    """Whether a peer's target name is a real name (not empty, not the placeholder)."""
    return target_name not in NO_NAME


def display_name(target_name: str) -> str:
    """A peer's name for people to read: "" when nobody gave one."""
    return target_name if has_name(target_name) else ""


def peers(participants: Iterable[Any]) -> list[Any]:
    """The participants other than the customer's own address (resources, or rows)."""
    return [p for p in participants if _target_name(p) != ME]


def _target_name(participant: Any) -> str:
    try:
        return participant["target_name"]  # a row (dict, asyncpg Record)
    except TypeError:
        return participant.target_name  # a resource


# --- web chat visitors ------------------------------------------------

VISITOR_PREFIX = "Visitor from "


def visitor_label(page_origin: str | None) -> str:
    """What a web chat visitor who left no name is called: "Visitor from <page host>"
    (the page the widget runs on), "Visitor" when the page is unknown — never the
    visitor's opaque token."""
    try:
        host = urlsplit(page_origin or "").hostname or ""
    except ValueError:
        host = ""
    return f"{VISITOR_PREFIX}{host}" if host else "Visitor"


def is_visitor_label(name: str) -> bool:
    return name == "Visitor" or name.startswith(VISITOR_PREFIX)
