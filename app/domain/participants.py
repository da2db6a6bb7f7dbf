"""The names a room's participants get when nobody gave one. Pure rules, no I/O.

A room holds the customer's own address as a participant named `ME` (the account its
messages go out from), and a peer nobody named as `UNKNOWN`. Both are stored in
`participants.target_name`, so the desk, the widget and the inbound path all read them
through this module: a placeholder is never shown or kept as if it were a person's name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
