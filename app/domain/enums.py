"""The closed sets of values the API accepts and returns."""

from enum import StrEnum


class Permission(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class AgentStatus(StrEnum):
    """Whether the agent may sign in at all."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Availability(StrEnum):
    """Whether routing may give the agent rooms: only `online` agents get them."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AssignmentPolicy(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"


class Priority(StrEnum):
    """A room's priority; the queue serves urgent first (PRIORITY_RANK)."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


PRIORITY_RANK = {p.value: rank for rank, p in enumerate(Priority)}
"""urgent 0 ... none 4: the queue's first sort key."""


class ActorType(StrEnum):
    AGENT = "agent"
    ACCESSKEY = "accesskey"
    SYSTEM = "system"


class WebhookMethod(StrEnum):
    POST = "POST"
    PUT = "PUT"


class EventType(StrEnum):
    """Every type of event the `events` table holds, public or not (docs/EVENTS.md says
    when each is written, what it carries and who receives it). Who may receive which is
    derived below, never listed twice."""

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
    CONVERSATION_ACTIVITY_CREATED = "conversation_activity_created"
    CONVERSATION_ASSIGNED = "conversation_assigned"
    """Routing gave the room an assignee, put it in a queue or took it back (the room, with
    its `assignment_reason`)."""
    TEAM_CREATED = "team_created"
    TEAM_UPDATED = "team_updated"
    TEAM_DELETED = "team_deleted"
    AGENT_AVAILABILITY_UPDATED = "agent_availability_updated"
    AGENT_UPDATED = "agent_updated"
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
    WEBHOOK_TEST = "webhook_test"
    # snooze and merge
    CONVERSATION_SNOOZED = "conversation_snoozed"
    """The room was snoozed (or its snooze changed): it leaves the open views."""
    CONVERSATION_WOKE = "conversation_woke"
    """The room's snooze ended: at its time, with the customer's message, or by hand."""
    CONVERSATION_MERGED = "conversation_merged"
    """The room was merged into another (`merged_into`); it is closed."""
    # --- notifications: an agent's notifications (private to that agent)
    NOTIFICATION_CREATED = "notification_created"
    NOTIFICATION_UPDATED = "notification_updated"
    # replies: send later, and notes through the API
    CONVERSATION_MESSAGE_SCHEDULED = "conversation_message_scheduled"
    """A reply was stored to be sent later (status `scheduled`); when it goes out,
    `conversation_message_created`."""
    CONVERSATION_MESSAGE_CANCELED = "conversation_message_canceled"
    """A scheduled reply was cancelled before it went out (with `..._updated`)."""
    CONVERSATION_NOTE_CREATED = "conversation_note_created"
    """An internal note was written (the public twin of the desk's activity event)."""
    # canned replies: tenant configuration, public like teams
    CANNED_RESPONSE_CREATED = "canned_response_created"
    CANNED_RESPONSE_UPDATED = "canned_response_updated"
    CANNED_RESPONSE_DELETED = "canned_response_deleted"
    # contacts: a contact and a tag are each a resource of their own (app/contacts/)
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_DELETED = "contact_deleted"
    CONTACT_MERGED = "contact_merged"
    """Another contact was merged into this one (the survivor; the other one's
    `contact_deleted` comes first)."""
    TAG_CREATED = "tag_created"
    TAG_UPDATED = "tag_updated"
    TAG_DELETED = "tag_deleted"
    # satisfaction surveys: about a room, on its topic
    CSAT_SURVEY_SENT = "csat_survey_sent"
    """A closed room's survey went out (or, for web chat, the widget was asked to show it)."""
    CSAT_RESPONSE_CREATED = "csat_response_created"
    """The customer rated the room (the room's `conversation_updated` follows)."""
    # business hours: tenant configuration, public like teams
    BUSINESS_HOURS_CREATED = "business_hours_created"
    BUSINESS_HOURS_UPDATED = "business_hours_updated"
    BUSINESS_HOURS_DELETED = "business_hours_deleted"
    # service levels: SLA policies (tenant configuration, public like teams) and clocks
    SLA_POLICY_CREATED = "sla_policy_created"
    SLA_POLICY_UPDATED = "sla_policy_updated"
    SLA_POLICY_DELETED = "sla_policy_deleted"
    CONVERSATION_SLA_WARNING = "conversation_sla_warning"
    """80% of a clock's target has counted (the SLA worker; once per clock)."""
    CONVERSATION_SLA_BREACHED = "conversation_sla_breached"
    """A clock's target has passed before its reply or close (once per clock)."""
    CONVERSATION_SLA_UPDATED = "conversation_sla_updated"
    """A room's `sla` summary moved with a message or a warning or breach (the room's
    other changes carry it in their own room event)."""
    # automation: rules and shared macros are tenant configuration (public like teams); a
    # personal macro concerns its owner
    AUTOMATION_RULE_CREATED = "automation_rule_created"
    AUTOMATION_RULE_UPDATED = "automation_rule_updated"
    AUTOMATION_RULE_DELETED = "automation_rule_deleted"
    AUTOMATION_RULE_EXECUTED = "automation_rule_executed"
    """A rule matched a room and acted (the run: what matched, what each action did)."""
    MACRO_CREATED = "macro_created"
    MACRO_UPDATED = "macro_updated"
    MACRO_DELETED = "macro_deleted"
    MACRO_EXECUTED = "macro_executed"
    """An agent applied a macro to a room (the run)."""


DESK_ONLY_EVENTS = frozenset({EventType.CONVERSATION_ACTIVITY_CREATED})
"""The desk's own events (a room's notes and system lines): on the desk's socket only."""

PUBLIC_EVENTS = frozenset(EventType) - DESK_ONLY_EVENTS - {EventType.WEBHOOK_TEST}
"""What customers receive, on the API websocket and as webhooks, and what a webhook may
subscribe to: the documented event types."""

WEBHOOK_EVENTS = PUBLIC_EVENTS | {EventType.WEBHOOK_TEST}
"""What may reach a webhook endpoint. `webhook_test` is what the "send test event" action
records: it goes to the endpoint only (whatever types it subscribes to), never to a
websocket."""

CONVERSATION_EVENTS = frozenset(e for e in EventType if e.startswith("conversation_"))
"""Events about a room, its messages and its timeline (the desk's inbox follows them)."""

MESSAGE_EVENTS = frozenset(e for e in EventType if e.startswith("conversation_message_"))
"""Events that carry a room's message."""

TALK_EVENTS = frozenset(e for e in EventType if e.startswith("talk_"))
"""Events about the agents' talks: private to the talk's participants."""

NOTIFICATION_EVENTS = frozenset(e for e in EventType if e.startswith("notification_"))
"""Events about one agent's notifications: private to that agent (its audience)."""
CONTACT_EVENTS = frozenset(e for e in EventType if e.startswith(("contact_", "tag_")))
"""Events about contacts and tags (the desk's Contacts page follows them)."""

PublicEventType = StrEnum(  # type: ignore[misc]
    "EventType", [(e.name, e.value) for e in EventType if e in PUBLIC_EVENTS], module=__name__
)
"""The public part of EventType, derived from it: the type of `webhook_events` in the API,
so the API refuses the others and its schema (named `EventType` there) lists exactly the
documented types."""
PublicEventType.__doc__ = "The documented event types: on the websocket, and for webhooks."


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class BulkAction(StrEnum):
    """What `POST /v1.0/conversations/bulk` does to each room."""

    ASSIGN = "assign"
    MOVE_TEAM = "move_team"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_PRIORITY = "set_priority"
    SNOOZE = "snooze"
    CLOSE = "close"
    MARK_READ = "mark_read"
    MACRO = "macro"
    """Apply a macro (`macro_id`) to each room."""


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


class ContactSource(StrEnum):
    """Where a contact came from: an agent (`manual`), an import, the API, or the
    channels (`sync`: made by an inbound message from an address no contact had)."""

    MANUAL = "manual"
    IMPORT = "import"
    API = "api"
    SYNC = "sync"


class AddressType(StrEnum):
    """What a contact may be reached at: a participant's types, less `agent`."""

    TEL = "tel"
    EMAIL = "email"
    LINE = "line"
    WEBCHAT = "webchat"
    WHATSAPP = "whatsapp"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    PROGRESSING = "progressing"
    DONE = "done"
    FAILED = "failed"
    SCHEDULED = "scheduled"
    """Waiting for its `scheduled_at`; then progressing like any reply."""
    CANCELED = "canceled"
    """A scheduled message cancelled before it was due; it is never sent."""


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
    which admins and managers always see, a talk is private even from admins. So is an
    agent's notification: only the notified agent's sockets receive it."""
    return event_type in TALK_EVENTS or event_type in NOTIFICATION_EVENTS


# --- notifications --------------------------------------------------------------------------


class NotificationType(StrEnum):
    """Why an agent is notified: a `mention` in a note, a room `assigned` to it by someone
    else or by routing; an SLA clock of its room near (`sla_warning`) or past
    (`sla_breached`) its target."""

    MENTION = "mention"
    ASSIGNED = "assigned"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    AUTOMATION = "automation"
    """A rule's `notify` action (app/automation)."""
