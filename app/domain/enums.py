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


class ConversationStatus(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    CLOSED = "closed"


class ReferenceType(StrEnum):
    """The channel a conversation or message travels on (the seed's `reference_type`)."""

    MESSAGE = "message"  # SMS/MMS
    EMAIL = "email"
    LINE = "line"
    WEBCHAT = "webchat"
    WHATSAPP = "whatsapp"


class ParticipantType(StrEnum):
    TEL = "tel"
    EMAIL = "email"
    LINE = "line"
    WEBCHAT = "webchat"
    WHATSAPP = "whatsapp"
    AGENT = "agent"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    PROGRESSING = "progressing"
    DONE = "done"
    FAILED = "failed"
