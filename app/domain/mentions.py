"""`@name` in a note: which agents it mentions, and where. Pure: the caller passes the
agents that may be mentioned (app/notifications/service.py: the customer's active agents
who may see the room).

Rules:
- A mention starts with `@` at the beginning of the text or after a character that is not
  a letter, digit or `_` (so `sam@example.com` mentions nobody).
- What follows is compared, ignoring case, with every agent's username and display name;
  the longest that fits wins (`@Sam Lee` over `@Sam`), and it must end at the end of the
  text or before a character that is not a letter, digit or `_` (`@Samantha` is not
  `@Sam`).
- A username names one agent. A display name that several agents share names none of
  them: it cannot say which one is meant (the composer's autocomplete inserts the
  username in that case).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class Mentionable(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    username: str
    name: str
    """The display name ("" when the agent has none)."""


class Mention(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str
    start: int
    """Where the `@` stands in the text."""
    end: int
    """Just after the name."""


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def handles(agents: Iterable[Mentionable]) -> dict[str, str]:
    """Lower-cased handle → agent id: every username, and every display name that exactly
    one agent has and that is no other agent's username."""
    by_username: dict[str, str] = {}
    by_name: dict[str, set[str]] = {}
    for agent in agents:
        by_username[agent.username.lower()] = agent.id
        name = " ".join(agent.name.split()).lower()
        if name:
            by_name.setdefault(name, set()).add(agent.id)
    found = dict(by_username)
    for name, ids in by_name.items():
        if len(ids) == 1 and name not in by_username:
            found[name] = next(iter(ids))
    return found


def insert_text(agent: Mentionable, agents: Iterable[Mentionable]) -> str:
    """What the composer inserts after `@` for `agent`: its display name when that names
    it alone, else its username."""
    name = " ".join(agent.name.split())
    if name and handles(agents).get(name.lower()) == agent.id:
        return name
    return agent.username


def find(text: str, agents: Iterable[Mentionable]) -> list[Mention]:
    """The mentions in `text`, in order, never overlapping."""
    known = handles(agents)
    if not known or "@" not in text:
        return []
    longest = max(len(h) for h in known)
    lowered = text.lower()
    found: list[Mention] = []
    i = text.find("@")
    while i != -1:
        end = -1
        if i == 0 or not _word(text[i - 1]):
            window = lowered[i + 1 : i + 1 + longest]
            # longest first: a handle that is the start of a longer one loses to it
            for size in range(len(window), 0, -1):
                handle = window[:size]
                after = i + 1 + size
                if handle in known and (after >= len(text) or not _word(text[after])):
                    found.append(Mention(agent_id=known[handle], start=i, end=after))
                    end = after
                    break
        i = text.find("@", end if end != -1 else i + 1)
    return found
