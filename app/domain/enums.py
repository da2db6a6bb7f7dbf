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


class EventType(StrEnum):
    """Every type of event: on the websocket, and what webhooks may subscribe to."""

    CONVERSATION_CREATED = "conversation_created"
    CONVERSATION_UPDATED = "conversation_updated"
    CONVERSATION_CLOSED = "conversation_closed"
    CONVERSATION_DELETED = "conversation_deleted"
    CONVERSATION_MESSAGE_CREATED = "conversation_message_created"
    CONVERSATION_MESSAGE_UPDATED = "conversation_message_updated"
    CONVERSATION_MESSAGE_DELETED = "conversation_message_deleted"
    CONVERSATION_MESSAGE_RECEIVED = "conversation_message_received"
    CONVERSATION_MESSAGE_SENT = "conversation_message_sent"
    CONVERSATION_PARTICIPANT_ADDED = "conversation_participant_added"
    CONVERSATION_PARTICIPANT_REMOVED = "conversation_participant_removed"
    TALK_CREATED = "talk_created"
    TALK_UPDATED = "talk_updated"
    TALK_CLOSED = "talk_closed"
    TALK_MESSAGE_CREATED = "talk_message_created"
    TALK_MESSAGE_UPDATED = "talk_message_updated"
    TALK_MESSAGE_DELETED = "talk_message_deleted"
    TALK_REACTION_ADDED = "talk_reaction_added"
    TALK_REACTION_REMOVED = "talk_reaction_removed"
    TALK_PARTICIPANT_JOINED = "talk_participant_joined"
    TALK_PARTICIPANT_LEFT = "talk_participant_left"


PUBLIC_EVENTS = frozenset(e.value for e in EventType)
"""What customers receive, on the API websocket and as webhooks: the documented event
types. The desk's own events (a room's notes and system lines,
`conversation_activity_created`) stay on the desk's socket."""

WEBHOOK_TEST_EVENT = "webhook_test"
"""The event the "send test event" action sends: to the endpoint only (whatever types it
subscribes to), never to websockets."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ConversationStatus(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    CLOSED = "closed"


class ReferenceType(StrEnum):
    """The channel a conversation or message travels on."""

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


class TalkType(StrEnum):
    DIRECT = "direct"
    GROUP = "group"


class TalkStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class TalkParticipantStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class TalkMessageType(StrEnum):
    NORMAL = "normal"
    SYSTEM = "system"


def is_private_to_audience(event_type: str) -> bool:
    """Talk events reach only the talk's participants: unlike a conversation's events,
    which admins and managers always see, a talk is private even from admins."""
    return event_type.startswith("talk_")
