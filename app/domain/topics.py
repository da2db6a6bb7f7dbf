"""Event topics, VoIPBIN's form: `customer_id:<cid>:conversation:<id>`,
`agent_id:<aid>:talk:<id>`. A subscription is a prefix that matches whole segments:
`customer_id:C:conversation` matches every conversation topic of customer C."""

from __future__ import annotations

import re

_TOPIC = re.compile(r"^(customer_id|agent_id):[0-9a-f-]{36}(:[A-Za-z0-9_-]+)*$")


def conversation_topic(customer_id: str, conversation_id: str) -> str:
    return f"customer_id:{customer_id}:conversation:{conversation_id}"


def matches(subscription: str, topic: str) -> bool:
    return topic == subscription or topic.startswith(subscription + ":")


def is_well_formed(topic: str) -> bool:
    return bool(_TOPIC.match(topic))


def owner_of(topic: str) -> tuple[str, str]:
    """("customer_id" | "agent_id", id) of a well-formed topic."""
    kind, ident = topic.split(":", 2)[:2]
    return kind, ident


def talk_topic(agent_id: str, talk_id: str) -> str:
    """A talk's topic as one participant sees it (VoIPBIN's form puts the agent first)."""
    return f"agent_id:{agent_id}:talk:{talk_id}"


def notification_topic(agent_id: str, notification_id: str) -> str:
    """An agent's notification (VoIPBIN's form for what is one agent's: the agent first);
    the API websocket's `agent_id:<me>:notification` subscribes to all of them."""
    return f"agent_id:{agent_id}:notification:{notification_id}"


MAX_EVENT_ID = 2**63 - 1  # events.id is a bigint


def parse_event_id(value: str) -> int:
    """An event id a client sends back (`since`): a whole number that fits `events.id`.
    ValueError otherwise — a number past bigint would fail in the database instead."""
    event_id = int(value.strip())
    if not 0 <= event_id <= MAX_EVENT_ID:
        raise ValueError(value)
    return event_id
