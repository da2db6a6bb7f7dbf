"""The closed sets of values the API accepts and returns."""

from enum import StrEnum


class Permission(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


class WebhookMethod(StrEnum):
    POST = "POST"
    PUT = "PUT"
