"""Resource shapes: what the API returns (and webhooks and websocket frames carry as
`data`), and the bodies it accepts. One Struct per resource, written once.

Request bodies forbid unknown fields so a typo (`"pasword"`) is an error, not silently
ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from app.domain.automation import AutomationRuleOut, AutomationRunOut, MacroOut
from app.domain.enums import (
    AddressType,
    AgentStatus,
    AssignmentPolicy,
    Availability,
    BulkAction,
    ContactSource,
    ConversationStatus,
    DeliveryStatus,
    EventType,
    NotificationType,
    ParticipantType,
    Permission,
    Priority,
    PublicEventType,
    TalkType,
    WebhookMethod,
)
from app.domain.storable import MAX_URL

Name = Annotated[str, msgspec.Meta(max_length=255)]
Detail = Annotated[str, msgspec.Meta(max_length=4000)]
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$",
        description="letters, digits and . _ @ + - ; case-insensitive and unique",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
Id = Annotated[str, msgspec.Meta(pattern=UUID_PATTERN, description="a UUID")]
"""An id in a body: a malformed one is a 422 naming the field (the format is no secret);
a well-formed id that is not the caller's to use is a 404, like a foreign one."""


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


# --- auth ---------------------------------------------------------------------------


class LoginInput(Input):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginResult(msgspec.Struct, kw_only=True):
    username: str
    token: str


# --- customer -----------------------------------------------------------------------


class CustomerOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    detail: str
    webhook_method: str
    webhook_uri: str
    webhook_events: list[str]
    """The event types sent to `webhook_uri`; empty: every type."""
    webhook_status: str
    """`enabled`, or `disabled` after the endpoint answered 410 Gone (saving the webhook
    settings again enables it; deliveries wait meanwhile)."""
    webhook_disabled_reason: str
    business_hours_id: str | None
    """The calendar of the customer's rooms whose team has none (and of rooms without a
    team); null: open around the clock."""
    tm_create: str
    tm_update: str
    tm_delete: str


class CustomerUpdate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    detail: Detail | None = None
    webhook_method: WebhookMethod | None = None
    webhook_uri: Url | None = None
    webhook_events: (
        Annotated[
            list[PublicEventType],
            msgspec.Meta(max_length=64, description="event types to send; [] sends every type"),
        ]
        | None
    ) = None
    business_hours_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """A calendar of the customer (`/v1.0/business_hours`); null: open around the clock."""


class WebhookSecretOut(msgspec.Struct, kw_only=True):
    webhook_secret: str
    """`whsec_` + base64: the HMAC-SHA256 key is the base64-decoded part."""
    previous_secret_expires: str
    """While the secret replaced by the last rotation still signs beside this one (the
    `webhook-signature` header then carries both), when it stops; "" otherwise."""


# --- webhook deliveries -----------------------------------------------------------------


class WebhookAttemptOut(msgspec.Struct, kw_only=True):
    uri: str
    status_code: int | None
    """The endpoint's HTTP status; null when no answer came (refused, timed out)."""
    latency_ms: int
    error: str
    response: str
    """The start of the response body."""
    tm_create: str


class WebhookDeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    event_id: str
    """The `webhook-id` header and the body's `id`: the same on every attempt."""
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_try_at: str
    """When the next attempt is due; "" when none is planned (delivered, failed)."""
    last_status_code: int | None
    last_error: str
    attempts: list[WebhookAttemptOut]
    """Every attempt, oldest first."""
    tm_create: str
    tm_update: str
    tm_delivered: str


class WebhookDeliveryPage(msgspec.Struct, kw_only=True):
    result: list[WebhookDeliveryOut]
    next_page_token: str


# --- agents -------------------------------------------------------------------------


class AgentOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    username: str
    name: str
    detail: str
    permission: str
    status: str
    """`active`, or `deactivated`: a deactivated agent cannot sign in, and its tokens,
    desk session and access keys stop working at once."""
    availability: str
    """`online`, `away` or `offline`: routing gives rooms only to online agents."""
    default_availability: str
    """What the agent's availability becomes when it signs in to the desk (its profile)."""
    auto_offline: bool
    """The agent went offline by itself (no desk open for a while): it comes back online
    when a desk connection opens again."""
    max_open: int | None
    """How many open rooms routing may give the agent; null: each team's `max_open`."""
    team_ids: list[str]
    """The teams the agent is a member of."""
    tm_create: str
    tm_update: str
    tm_delete: str
    signature: str = ""
    """Appended below the agent's replies on channel accounts whose `signature` setting is
    `below` (the agent sets it: `PUT /v1.0/me`)."""


MaxOpen = Annotated[int, msgspec.Meta(ge=1, le=10000)]


class AgentCreate(Input):
    username: Username
    password: Password
    name: Name = ""
    detail: Detail = ""
    permission: Permission = Permission.AGENT
    max_open: MaxOpen | None = None


class AgentUpdate(Input):
    name: Name | None = None
    detail: Detail | None = None
    permission: Permission | None = None
    status: AgentStatus | None = None
    """`deactivated` stops the agent's sign-in and every credential at once, and returns
    its rooms to routing; `active` restores sign-in (availability stays offline)."""
    availability: Availability | None = None
    max_open: MaxOpen | None | msgspec.UnsetType = msgspec.UNSET
    """null: use each team's `max_open`."""
    password: Password | None = None


class AvailabilityIn(Input):
    availability: Availability


# --- access keys --------------------------------------------------------------------


class AccessKeyOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    agent_id: str
    name: str
    detail: str
    token_prefix: str
    """The key's first characters, to tell keys apart; the key itself is never shown again."""
    tm_expire: str
    tm_create: str
    tm_update: str
    tm_delete: str
    token: str | None = None
    """Only in the response that created the key."""


class AccessKeyCreate(Input):
    name: Name = ""
    detail: Detail = ""
    expire: Annotated[int, msgspec.Meta(ge=60, le=10 * 365 * 86400)] | None = None
    """Lifetime in seconds; omitted means the key does not expire."""


class AccessKeyUpdate(Input):
    name: Name | None = None
    detail: Detail | None = None


# --- lists --------------------------------------------------------------------------


class AgentPage(msgspec.Struct, kw_only=True):
    """The list envelope: newest first; `next_page_token` is "" on the last page."""

    result: list[AgentOut]
    next_page_token: str


class AccessKeyPage(msgspec.Struct, kw_only=True):
    result: list[AccessKeyOut]
    next_page_token: str


# --- the signed-in agent's own settings, and the audit log ---------------------------


class MeUpdate(Input):
    """`PUT /v1.0/me`: what an agent changes about itself (only the fields given)."""

    name: Name | None = None
    default_availability: Availability | None = None
    """What the agent becomes when it signs in to the desk."""
    signature: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    """Appended below your replies where the channel account says so; "" for none."""


class PasswordChange(Input):
    """`PUT /v1.0/me/password`: the current password proves it is the agent itself (a
    desk left signed in is not enough to take the account over)."""

    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    password: Password


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    actor_type: str
    """`agent` (the desk or a token), `accesskey` (a program, with its maker as
    `actor_id`) or `system` (routing, timers)."""
    actor_id: str | None
    action: str
    """`<target>.<verb>`, e.g. `agent.created`, `team.updated`, `conversation.assigned`."""
    target_type: str
    target_id: str
    before: dict[str, Any]
    """The target as the API showed it before the change ({} for a creation)."""
    after: dict[str, Any]
    """The target as the API shows it after the change ({} for a deletion)."""
    tm_create: str


class AuditPage(msgspec.Struct, kw_only=True):
    result: list[AuditEntryOut]
    next_page_token: str


# --- conversations --------------------------------------------------------------------

Text_ = Annotated[str, msgspec.Meta(max_length=20000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\s,][^,]*$")]


class ParticipantOut(msgspec.Struct, kw_only=True):
    id: str
    type: str
    target: str
    target_name: str
    name: str
    detail: str
    contact_id: str | None = None
    """The contact this participant is (null for the customer's own address, agents, and
    a participant whose contact was deleted)."""


class SlaSummaryOut(msgspec.Struct, kw_only=True):
    """A room's most pressing SLA clock: a breached one still waiting for its reply, else
    the running one due soonest, else a paused one."""

    kind: str
    """`first_response`, `next_response` or `resolution`."""
    status: str
    """`breached`; `warning` (running, past its warning time); `running`; `paused`."""
    due: str | None
    """When it breaches (breached: when it did); null while paused."""


class ConversationOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    name: str
    detail: str
    status: str
    reference_type: str
    reference_id: str
    account_id: str | None
    owner_type: str
    owner_id: str | None
    team_id: str | None
    """The team the room belongs to (routing gives it to one of its members); null: none."""
    priority: str
    """urgent|high|medium|low|none: the team queue serves urgent first."""
    assignment_reason: str
    """Why the room has its assignee, or why it waits (routing and manual assignment write
    it); empty when nothing decided yet."""
    queue_position: int | None
    """1-based place in its team's queue while the room waits for an agent; null unless
    waiting. Computed when the room is read: it moves up without an event of its own when
    rooms ahead of it leave the queue."""
    snoozed_until: str | None = None
    """While snoozed: when the snooze ends by itself; null when it has no time (or the room
    is not snoozed)."""
    snooze_until_reply: bool = False
    """While snoozed: the snooze was asked to last until the customer replies. A room is
    snoozed when `snoozed_until` is set or this is true; any inbound message wakes it."""
    merged_into: str | None = None
    """The room this one was merged into (`POST …/{id}/merge`); it is then closed and its
    messages, notes and participants are in that room."""
    csat: int | None = None
    """The customer's satisfaction rating of the room (1-5) once they answered its survey;
    null until then (`GET /v1.0/csat_responses` has the comment)."""
    sla: SlaSummaryOut | None = None
    """The room's most pressing SLA clock (`GET …/{id}/sla` has them all); null when no
    policy applies, no clock is waiting, or the room is closed."""
    tags: list[str]
    participants: list[ParticipantOut]
    contact_ids: list[str]
    """The contacts of the room's participants (each once, in the order they joined)."""
    last_message: str | None
    tm_last_message: str | None
    tm_create: str
    tm_update: str
    tm_delete: str


class ConversationPage(msgspec.Struct, kw_only=True):
    result: list[ConversationOut]
    next_page_token: str


class ParticipantIn(Input):
    type: ParticipantType
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    target_name: Name = ""
    name: Name = ""
    detail: Detail = ""


class ConversationCreate(Input, kw_only=True):
    name: Name = ""
    detail: Detail = ""
    participants: Annotated[list[ParticipantIn], msgspec.Meta(min_length=1, max_length=20)]
    account_id: Id | None = None
    """The channel account to reach the first participant by; defaults to the customer's
    first account of that channel."""


class ConversationUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    detail: Detail | msgspec.UnsetType = msgspec.UNSET
    owner_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """An agent's id to assign, null to unassign."""
    status: ConversationStatus | msgspec.UnsetType = msgspec.UNSET
    """`closed` closes the room, `active` reopens it."""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """A team of the customer to move the room to (an unassigned room is then routed in
    it); null takes it out of any team (and out of the queue)."""
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    """urgent|high|medium|low|none: the order of the team queue."""


# --- snooze, bulk actions and merge -----------------------------------

MAX_BULK = 1000
"""The most rooms one bulk action takes."""

Time = Annotated[
    str,
    msgspec.Meta(
        max_length=40,
        pattern=r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$",
        description="a time: `2026-12-03 09:00:00.000000` (UTC, as the API writes times) or"
        " ISO 8601 with an offset",
    ),
]


class SnoozeIn(Input):
    until: Time | None = None
    """When the snooze ends by itself (in the future); null: no time."""
    until_reply: bool = False
    """End the snooze with the customer's next message (any inbound message ends a
    snooze; this says it has no other end). `until` or `until_reply` is required."""


class BulkIn(Input):
    conversation_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=MAX_BULK)]
    action: BulkAction
    owner_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """`assign`: the agent (null unassigns)."""
    team_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """`move_team`: the team (null: out of every team)."""
    tags: Annotated[list[Tag], msgspec.Meta(min_length=1, max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    """`add_tags`, `remove_tags`."""
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    """`set_priority`."""
    until: Time | None = None
    """`snooze`: as `POST …/snooze`."""
    until_reply: bool = False
    """`snooze`: as `POST …/snooze`."""
    macro_id: Id | msgspec.UnsetType = msgspec.UNSET
    """`macro`: the macro to apply (yours or a shared one)."""


class BulkError(msgspec.Struct, kw_only=True):
    status: int
    """The HTTP status the single action would have answered."""
    reason: str
    message: str


class BulkItem(msgspec.Struct, kw_only=True):
    id: str
    ok: bool
    error: BulkError | None = None


class BulkOut(msgspec.Struct, kw_only=True):
    result: list[BulkItem]
    """One entry per id given (duplicates once), in the order given."""


class MergeIn(Input):
    conversation_id: Id
    """The room to merge into this one (it closes, pointing here)."""


# --- messages -------------------------------------------------------------------------


class Address(msgspec.Struct, kw_only=True):
    type: str
    target: str
    target_name: str
    name: str


class Media(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    """A MIME type, `image/png`."""
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL, pattern=r"^https?://")]
    """Providers' media URLs can be long (signed CDN links): up to 8,192 characters."""
    name: Annotated[str, msgspec.Meta(max_length=255)] = ""


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    conversation_id: str
    customer_id: str
    direction: str
    status: str
    reference_type: str
    reference_id: str
    source_target: str
    source: Address
    destination: Address
    participant_id: str | None
    account_id: str | None
    text: str
    medias: list[Media]
    error: str | None
    provider_message_id: str
    tm_create: str
    tm_update: str
    tm_delete: str

    agent_id: str | None = None
    """The agent who sent an outbound message (signed in, in the desk or with a token);
    null for inbound messages and for messages sent with an access key."""
    scheduled_at: str | None = None
    """When a scheduled reply is (or was) due; null for one sent at once."""


class MessagePage(msgspec.Struct, kw_only=True):
    result: list[MessageOut]
    next_page_token: str


TimeText = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
"""A time in the API's format ("2026-12-02 13:00:00.000000", UTC) or ISO 8601 with an
offset; anything else is a 422 from the service."""


class MessageCreate(Input):
    text: Text_ = ""
    medias: Annotated[list[Media], msgspec.Meta(max_length=10)] = []
    participant_id: Id | None = None
    """Send to this participant (and so by its channel) instead of the one who wrote last."""
    scheduled_at: TimeText | None = None
    """Send later: the message waits (status `scheduled`) until this time."""
    if_no_activity_since: TimeText | None = None
    """The stale-reply check: the `tm_create` of the newest message the sender had seen.
    If the customer wrote, or someone else replied, after it, nothing is sent: `409
    stale_reply`. Omit it to send regardless."""


class MessageUpdate(Input):
    """A scheduled message's new text or time (only while it is `scheduled`)."""

    text: Text_ | msgspec.UnsetType = msgspec.UNSET
    scheduled_at: TimeText | msgspec.UnsetType = msgspec.UNSET


class NoteCreate(Input):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]


# --- desk: notes and system lines -----------------------------------------------------


class MentionOut(msgspec.Struct, kw_only=True):
    """An agent `@`mentioned in a note, resolved when the note was written: the agent and
    where the mention stands in the note's `text` (`start` inclusive, `end` exclusive,
    counted in Unicode code points), so a later rename changes nothing."""

    agent_id: str
    start: int
    end: int


class ActivityOut(msgspec.Struct, kw_only=True):
    """A line in a room's timeline that is not a message: `note` (internal, agents only)
    or `system` (assigned, closed, participant added...)."""

    id: str
    conversation_id: str
    customer_id: str
    kind: str
    agent_id: str | None
    text: str
    tm_create: str
    mentions: list[MentionOut] = []
    """A note's mentions, in text order (a system line has none)."""


class ActivityPage(msgspec.Struct, kw_only=True):
    result: list[ActivityOut]
    next_page_token: str


# --- a room's timeline through the API: messages, notes and system lines (replies) -----


class TimelineMessage(MessageOut, kw_only=True, tag_field="kind", tag="message"):
    """A message in `GET …/timeline`: the message resource, with `kind: "message"`."""


class TimelineLine(msgspec.Struct, kw_only=True):
    id: str
    conversation_id: str
    customer_id: str
    agent_id: str | None
    text: str
    tm_create: str


class TimelineNote(TimelineLine, kw_only=True, tag_field="kind", tag="note"):
    """An internal note (agents only), with `kind: "note"`."""


class TimelineSystem(TimelineLine, kw_only=True, tag_field="kind", tag="system"):
    """A system line (assigned, closed, participant added…), with `kind: "system"`."""


class TimelinePage(msgspec.Struct, kw_only=True):
    result: list[TimelineMessage | TimelineNote | TimelineSystem]
    next_page_token: str


# --- channel accounts -----------------------------------------------------------------

AccountType = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{1,16}$")]
SettingValue = Annotated[str, msgspec.Meta(max_length=4000)] | int | bool | None


class AccountOut(msgspec.Struct, kw_only=True):
    """A channel account. Secrets are write-only: `secrets_set` names the ones that have
    a value, never the value."""

    id: str
    customer_id: str
    type: str
    name: str
    detail: str
    address: str
    """The account's own address on its channel (phone number, mailbox...), or ""."""
    settings: dict[str, SettingValue]
    secrets_set: list[str]
    webhook_urls: dict[str, str]
    """What to paste into the provider's console: {"incoming": url, ...}."""
    tm_create: str
    tm_update: str
    tm_delete: str


class AccountPage(msgspec.Struct, kw_only=True):
    result: list[AccountOut]
    next_page_token: str


class RejectedInboundOut(msgspec.Struct, kw_only=True):
    """An event a provider delivered to a channel account that could not be stored as a
    message (malformed, or a value refused); the provider was answered 2xx."""

    id: str
    customer_id: str
    account_id: str
    provider_event_id: str
    """The provider's id of the event (LINE webhookEventId, WhatsApp message id, Twilio
    MessageSid, email Message-ID), or "" when it had none."""
    reason: str
    """Why it was refused, for people."""
    excerpt: str
    """The start of the event as received (a few KB), as text."""
    tm_create: str


class RejectedInboundPage(msgspec.Struct, kw_only=True):
    result: list[RejectedInboundOut]
    next_page_token: str


class AccountCreate(Input):
    type: AccountType
    name: Name = ""
    detail: Detail = ""
    settings: dict[str, SettingValue] = {}
    secrets: dict[str, Annotated[str, msgspec.Meta(max_length=4000)]] = {}
    secret: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    """VoIPBIN's name for the type's main secret (LINE channel secret, Twilio auth token,
    WhatsApp app secret)."""
    token: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    """VoIPBIN's name for the type's access token (LINE channel access token, WhatsApp
    access token)."""


class AccountUpdate(Input):
    """Only what is given changes; a setting or secret set to null (settings) or ""
    (secrets) is removed."""

    name: Name | None = None
    detail: Detail | None = None
    settings: dict[str, SettingValue] | None = None
    secrets: dict[str, Annotated[str, msgspec.Meta(max_length=4000)]] | None = None
    secret: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    token: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class AccountTest(Input):
    to: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The address to send the test message to, on the account's channel."""
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] = (
        "This is a test message from Convodesk."
    )


class AccountTestResult(msgspec.Struct, kw_only=True):
    success: bool
    provider_message_id: str = ""
    reason: str = ""


class ConversationSetup(Input):
    reference_type: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{1,16}$")]
    account_id: Id | None = None
    """Which account of that channel; the customer's only (or first) one when omitted."""


class ConversationSetupResult(msgspec.Struct, kw_only=True):
    account: AccountOut
    """The account that was set up."""
    endpoint: str
    """The webhook URL registered with the provider."""
    test: dict[str, Any]
    """The provider's own test of that URL, as the provider answered it (LINE:
    `success`, `timestamp`, `statusCode`, `reason`, `detail`)."""


# --- talks (the agents' own chat) --------------------------------------------------------


class TalkParticipantOut(msgspec.Struct, kw_only=True):
    id: str
    talk_id: str
    agent_id: str
    status: str
    tm_joined: str
    tm_left: str | None


class TalkOut(msgspec.Struct, kw_only=True):
    id: str
    customer_id: str
    type: str
    name: str
    detail: str
    status: str
    creator_id: str | None
    member_count: int
    """Active participants."""
    participants: list[TalkParticipantOut]
    tm_last_message: str | None
    tm_create: str
    tm_update: str
    tm_delete: str


class TalkPage(msgspec.Struct, kw_only=True):
    result: list[TalkOut]
    next_page_token: str


class TalkCreate(Input):
    type: TalkType = TalkType.GROUP
    name: Name = ""
    detail: Detail = ""
    participant_ids: Annotated[list[Id], msgspec.Meta(max_length=500)] = []
    """Agent ids; the creator is always a participant. A direct talk names one other agent
    (or the creator and one other)."""


class TalkUpdate(Input):
    name: Name | None = None
    detail: Detail | None = None


class TalkParticipantIn(Input):
    agent_id: Id


class ReactionOut(msgspec.Struct, kw_only=True):
    emoji: str
    count: int
    agent_ids: list[str]


class TalkMessageOut(msgspec.Struct, kw_only=True):
    id: str
    talk_id: str
    customer_id: str
    agent_id: str | None
    type: str
    text: str
    parent_id: str | None
    reply_count: int
    medias: list[Media]
    reactions: list[ReactionOut]
    tm_create: str
    tm_update: str
    """The last edit's time; equal to `tm_create` for a message never edited."""
    tm_delete: str


class TalkMessagePage(msgspec.Struct, kw_only=True):
    result: list[TalkMessageOut]
    next_page_token: str


class TalkMessageCreate(Input):
    text: Text_ = ""
    parent_id: Id | None = None
    medias: Annotated[list[Media], msgspec.Meta(max_length=10)] = []


class TalkMessageUpdate(Input):
    text: Text_


class ReactionIn(Input):
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """A Unicode emoji (👍) or a short name (`thumbsup`, `:thumbsup:`)."""


class TalkUnreadOut(msgspec.Struct, kw_only=True):
    """How much of a talk the calling agent has not read."""

    talk_id: str
    unread_count: int
    tm_read: str


class TalkUnreadList(msgspec.Struct, kw_only=True):
    result: list[TalkUnreadOut]


# --- events ---------------------------------------------------------------------------


class WebhookTestOut(msgspec.Struct, kw_only=True):
    """The data of a `webhook_test` event (the admin's "send test event")."""

    customer_id: str
    message: str


class TeamOut(msgspec.Struct, kw_only=True):
    """A team: its members, the channel accounts whose new rooms it receives, and how
    rooms are given out."""

    id: str
    customer_id: str
    name: str
    detail: str
    agent_ids: list[str]
    account_ids: list[str]
    assignment_policy: str
    """`manual`, `round_robin` or `least_busy`."""
    max_open: int
    """Each member's capacity (open rooms) unless the agent has its own `max_open`."""
    reassign_after: int
    """Seconds an assignee may leave a room unanswered before it goes back to routing;
    0: never."""
    business_hours_id: str | None
    """The team's calendar (`/v1.0/business_hours`); null: the customer's."""
    tm_create: str
    tm_update: str
    tm_delete: str


# --- teams --------------------------------------------------------------------------


IdList = Annotated[list[Id], msgspec.Meta(max_length=1000)]
ReassignAfter = Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)]


class TeamCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    detail: Detail = ""
    agent_ids: IdList = msgspec.field(default_factory=list)
    account_ids: IdList = msgspec.field(default_factory=list)
    assignment_policy: AssignmentPolicy = AssignmentPolicy.MANUAL
    max_open: MaxOpen = 5
    reassign_after: ReassignAfter = 0
    business_hours_id: Id | None = None
    """A calendar of the customer; null: the customer's."""


class TeamUpdate(Input):
    """Only the fields given change; a list given replaces the whole list."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    detail: Detail | None = None
    agent_ids: IdList | None = None
    account_ids: IdList | None = None
    assignment_policy: AssignmentPolicy | None = None
    max_open: MaxOpen | None = None
    reassign_after: ReassignAfter | None = None
    business_hours_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """A calendar of the customer; null: the customer's."""


class TeamPage(msgspec.Struct, kw_only=True):
    result: list[TeamOut]
    next_page_token: str


# --- notifications: notifications ----------------------------------------------------------


class NotificationOut(msgspec.Struct, kw_only=True):
    """Something an agent should look at: a `mention` in a note, a room `assigned` to it
    by someone else or by routing, an SLA clock near its target (`sla_warning`) or past
    it (`sla_breached`)."""

    id: str
    customer_id: str
    agent_id: str
    """The notified agent."""
    type: NotificationType
    conversation_id: str | None
    message_id: str | None
    """For a `mention`, the note's id (a timeline line of the room); null otherwise."""
    actor_id: str | None
    """Who caused it: the note's author, the agent who assigned; null for routing."""
    text: str
    """A short text to show (at most 200 characters): a mention's note, or for an
    assignment the room's name and the customer's last message."""
    read: bool
    tm_read: str | None
    tm_create: str


class NotificationPage(msgspec.Struct, kw_only=True):
    result: list[NotificationOut]
    next_page_token: str


class NotificationReadAll(Input):
    """Which notifications `read_all` marks: all the caller's unread ones, or only those
    of one room."""

    conversation_id: Id | None = None


class NotificationReadAllResult(msgspec.Struct, kw_only=True):
    updated: int
    """How many notifications were unread and are read now."""


# --- canned replies ------------------------------------------------------

Shortcut = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="letters, digits and _ . - ; what follows `/` in the composer;"
        " stored lowercase, unique among your own (or among the shared) replies",
    ),
]
CannedText = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]


class CannedResponseOut(msgspec.Struct, kw_only=True):
    """A canned reply: text an agent inserts by typing `/shortcut` in the composer, with
    variables (`{{contact.name}}`, `{{agent.name}}`...) filled for the room."""

    id: str
    customer_id: str
    owner_id: str | None
    """The agent whose personal reply it is; null: shared by every agent (admins manage it)."""
    name: str
    shortcut: str
    text: str
    """As written, variables unfilled (`POST …/render` fills them for a room)."""
    tm_create: str
    tm_update: str
    tm_delete: str


class CannedResponsePage(msgspec.Struct, kw_only=True):
    result: list[CannedResponseOut]
    next_page_token: str


class CannedResponseCreate(Input):
    shortcut: Shortcut
    text: CannedText
    name: Name = ""
    owner_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """Omitted or your own id: a personal reply; null: a shared one (admins only)."""


class CannedResponseUpdate(Input):
    """Only the fields given change; the owner never does."""

    shortcut: Shortcut | None = None
    text: CannedText | None = None
    name: Name | None = None


class CannedRender(Input):
    conversation_id: Id
    """The room whose contact, agent and conversation fill the variables."""


class CannedRenderOut(msgspec.Struct, kw_only=True):
    text: str
    """The reply's text with the variables filled, as plain text (not HTML-escaped);
    unknown variables stay as written."""
    variables: dict[str, str]
    """Every variable's value for that room and agent ("" when unknown, e.g. no email)."""


# --- business hours -----------------------------------------------------------------

MAX_PERIODS = 50
MAX_HOLIDAYS = 366
TimeOfDay = Annotated[
    str,
    msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description='"HH:MM", 00:00 to 23:59'),
]
EndOfPeriod = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description='"HH:MM", up to "24:00" (the end of the day)',
    ),
]
DateText = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description='"YYYY-MM-DD"')
]
TimeZoneName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="an IANA name: Europe/Berlin")
]


class BusinessHoursPeriod(Input):
    """A weekly open period, in the calendar's local time."""

    day: Annotated[int, msgspec.Meta(ge=0, le=6)]
    """0 Monday … 6 Sunday."""
    start: TimeOfDay
    end: EndOfPeriod
    """After `start`; "24:00" is the end of the day."""


class BusinessHoursHoliday(Input):
    """A local date the calendar is closed all day."""

    date: DateText
    yearly: bool = False
    """Closed on this month and day every year (29 February: only in leap years)."""
    name: Annotated[str, msgspec.Meta(max_length=255)] = ""


class BusinessHoursOut(msgspec.Struct, kw_only=True):
    """A calendar: when the customer (or a team) is open."""

    id: str
    customer_id: str
    name: str
    time_zone: str
    periods: list[BusinessHoursPeriod]
    """By day, then start time."""
    holidays: list[BusinessHoursHoliday]
    """By date."""
    tm_create: str
    tm_update: str
    tm_delete: str


class BusinessHoursPage(msgspec.Struct, kw_only=True):
    result: list[BusinessHoursOut]
    next_page_token: str


class BusinessHoursCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    time_zone: TimeZoneName
    periods: Annotated[list[BusinessHoursPeriod], msgspec.Meta(max_length=MAX_PERIODS)] = (
        msgspec.field(default_factory=list)
    )
    holidays: Annotated[list[BusinessHoursHoliday], msgspec.Meta(max_length=MAX_HOLIDAYS)] = (
        msgspec.field(default_factory=list)
    )


class BusinessHoursUpdate(Input):
    """Only the fields given change; a list given replaces the whole list."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    time_zone: TimeZoneName | None = None
    periods: Annotated[list[BusinessHoursPeriod], msgspec.Meta(max_length=MAX_PERIODS)] | None = (
        None
    )
    holidays: (
        Annotated[list[BusinessHoursHoliday], msgspec.Meta(max_length=MAX_HOLIDAYS)] | None
    ) = None


# --- contacts and tags ----------------------------------------------

ShortText = Annotated[str, msgspec.Meta(max_length=255)]
Notes = Annotated[str, msgspec.Meta(max_length=20000)]
AttributeValue = Annotated[str, msgspec.Meta(max_length=4000)] | int | float | bool | None
Attributes = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], AttributeValue],
    msgspec.Meta(max_length=100),
]
AddressTarget = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\s,][^,]*$")]


class ContactAddressOut(msgspec.Struct, kw_only=True):
    id: str
    type: str
    """tel|email|line|webchat|whatsapp: a participant's types."""
    target: str
    """Normalised as a participant's (phone numbers E.164, email addresses lower-case)."""
    name: str
    detail: str
    is_primary: bool
    """At most one address of each type is primary."""


class ContactOut(msgspec.Struct, kw_only=True):
    """A person, reached at several addresses across channels (VoIPBIN's contact)."""

    id: str
    customer_id: str
    first_name: str
    last_name: str
    display_name: str
    company: str
    job_title: str
    source: str
    """manual|import|api|sync (`sync`: made by an inbound message from a new address)."""
    external_id: str
    notes: str
    addresses: list[ContactAddressOut]
    tag_ids: list[str]
    attributes: dict[str, Any]
    tm_create: str
    tm_update: str
    tm_delete: str


class ContactPage(msgspec.Struct, kw_only=True):
    result: list[ContactOut]
    next_page_token: str


class ContactAddressIn(Input):
    type: AddressType
    target: AddressTarget
    name: ShortText = ""
    detail: Detail = ""
    is_primary: bool = False


class ContactAddressUpdate(Input):
    """Only the fields given change."""

    type: AddressType | None = None
    target: AddressTarget | None = None
    name: ShortText | None = None
    detail: Detail | None = None
    is_primary: bool | None = None


class ContactCreate(Input):
    first_name: ShortText = ""
    last_name: ShortText = ""
    display_name: ShortText = ""
    company: ShortText = ""
    job_title: ShortText = ""
    source: ContactSource = ContactSource.API
    external_id: ShortText = ""
    notes: Notes = ""
    addresses: Annotated[list[ContactAddressIn], msgspec.Meta(max_length=50)] = []
    tag_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []
    attributes: Attributes = {}


class ContactUpdate(Input):
    """Only the fields given change; `attributes` given replaces the whole object.
    Addresses and tags change through their own endpoints."""

    first_name: ShortText | None = None
    last_name: ShortText | None = None
    display_name: ShortText | None = None
    company: ShortText | None = None
    job_title: ShortText | None = None
    source: ContactSource | None = None
    external_id: ShortText | None = None
    notes: Notes | None = None
    attributes: Attributes | None = None


class ContactTagIn(Input):
    tag_id: Id


class ContactMergeIn(Input):
    contact_id: Id
    """The contact merged into this one (and deleted)."""


class TagOut(msgspec.Struct, kw_only=True):
    """A tag, usable on contacts (`tag_ids`) and on conversations (`tags`, by name)."""

    id: str
    customer_id: str
    name: str
    detail: str
    tm_create: str
    tm_update: str
    tm_delete: str


class TagPage(msgspec.Struct, kw_only=True):
    result: list[TagOut]
    next_page_token: str


class TagCreate(Input):
    name: TagName
    detail: Detail = ""


class TagUpdate(Input):
    name: TagName | None = None
    detail: Detail | None = None


# --- satisfaction surveys (CSAT) ---------------------------------------------------------


class CsatResponseOut(msgspec.Struct, kw_only=True):
    """A customer's rating of a closed room: at most one per room."""

    id: str
    customer_id: str
    conversation_id: str
    contact_id: str | None
    """The contact who answered (null when unknown or since deleted)."""
    agent_id: str | None
    """The room's assignee when it closed (null: unassigned)."""
    reference_type: str
    """The channel the survey went out on and was answered by: `message` (a reply 1-5),
    `email` (its link), `webchat` (the widget), `line`, `whatsapp`."""
    rating: int
    """1 (poor) to 5 (great)."""
    comment: str
    """What the customer wrote besides the number ("" for none)."""
    tm_create: str


class CsatResponsePage(msgspec.Struct, kw_only=True):
    result: list[CsatResponseOut]
    next_page_token: str


class CsatSurveyOut(msgspec.Struct, kw_only=True):
    """A satisfaction survey as it went out (the data of `csat_survey_sent`)."""

    id: str
    customer_id: str
    conversation_id: str
    contact_id: str | None
    agent_id: str | None
    """The room's assignee when it closed."""
    reference_type: str
    """The channel of the customer's last message, which the survey went out on."""
    target: str
    """The address it went to (the participant's)."""
    question: str
    status: str
    """`sent`."""
    message_id: str | None
    """The question as a message of the room (SMS, LINE, WhatsApp, email); null for web
    chat, whose widget asks inline."""
    tm_due: str
    tm_sent: str


# --- service levels: SLA policies and clocks -----------------------------------------

SlaMinutes = Annotated[int, msgspec.Meta(ge=1, le=525600, description="1 to 525600 (a year)")]


class SlaPolicyOut(msgspec.Struct, kw_only=True):
    """Targets in business minutes for the rooms of a priority and a team. A room follows
    the most specific live policy that matches it (priority and team, then team, then
    priority, then neither; the oldest first among equals)."""

    id: str
    customer_id: str
    name: str
    priority: str | None
    """urgent|high|medium|low|none; null: any priority."""
    team_id: str | None
    """null: any team (and rooms of no team)."""
    business_hours_id: str | None
    """The calendar the targets count in; null: around the clock."""
    first_response_minutes: int | None
    """From the customer's first message to the first agent reply; null: no target."""
    next_response_minutes: int | None
    """From a customer message that follows a reply to the next agent reply."""
    resolution_minutes: int | None
    """From the customer's first message to the close (paused while the customer owes a
    reply)."""
    tm_create: str
    tm_update: str
    tm_delete: str


class SlaPolicyPage(msgspec.Struct, kw_only=True):
    result: list[SlaPolicyOut]
    next_page_token: str


class SlaPolicyCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    priority: Priority | None = None
    team_id: Id | None = None
    business_hours_id: Id | None = None
    first_response_minutes: SlaMinutes | None = None
    next_response_minutes: SlaMinutes | None = None
    resolution_minutes: SlaMinutes | None = None


class SlaPolicyUpdate(Input):
    """Only the fields given change; null is a value (any priority, any team, around the
    clock, no target)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    priority: Priority | None | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    business_hours_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    first_response_minutes: SlaMinutes | None | msgspec.UnsetType = msgspec.UNSET
    next_response_minutes: SlaMinutes | None | msgspec.UnsetType = msgspec.UNSET
    resolution_minutes: SlaMinutes | None | msgspec.UnsetType = msgspec.UNSET


class SlaClockOut(msgspec.Struct, kw_only=True):
    """One SLA clock of a room: what `conversation_sla_warning` and
    `conversation_sla_breached` carry."""

    conversation_id: str
    kind: str
    """`first_response`, `next_response` or `resolution`."""
    cycle: int
    """Which wait of its kind (a room has a next-response clock for each customer message
    that follows a reply); 1 for the others."""
    policy_id: str
    target: int
    """Business minutes."""
    status: str
    """`running`, `paused`, `met` or `breached`."""
    due: str | None
    """When it breaches if nothing pauses it (breached: when it did); null while paused."""
    warn_at: str | None
    """When 80% of the target will have counted (the warning); null unless running."""
    elapsed_seconds: float
    """Business seconds counted, up to now."""
    started: str
    stopped: str | None
    """When it was met (the reply or the close) or breached."""
    done: str | None
    """When its wait ended (the reply, the close), in time or late; null while pending."""
    warned: str | None
    """When the warning was given; null if not (yet)."""


class SlaIntervalOut(msgspec.Struct, kw_only=True):
    start: str
    end: str
    counted: bool
    """Whether this stretch counted towards the target."""
    reason: str | None
    """Why it did not: `outside_business_hours`, `waiting_on_customer`, `snoozed` or
    `closed`; null when it counted."""


class SlaClockAuditOut(SlaClockOut, kw_only=True):
    intervals: list[SlaIntervalOut]
    """From its start to its end (or now), in order: the counted stretches add up to
    `elapsed_seconds`."""


class ConversationSlaOut(msgspec.Struct, kw_only=True):
    """A room's `sla` as it now is: what `conversation_sla_updated` carries."""

    conversation_id: str
    sla: SlaSummaryOut | None
    """The room's most pressing SLA clock, as `ConversationOut.sla`."""


class SlaClockList(msgspec.Struct, kw_only=True):
    result: list[SlaClockAuditOut]
    """Every clock the room has had, oldest first, recomputed from its stored messages and
    changes."""


# --- automation (the shapes are domain.automation's) ---------------------------------


class MacroRunOut(msgspec.Struct, kw_only=True):
    """What applying a macro did: the run, and the room as it now is."""

    run: AutomationRunOut
    conversation: ConversationOut


EVENT_DATA: dict[EventType, type[msgspec.Struct]] = {
    EventType.CONVERSATION_CREATED: ConversationOut,
    EventType.CONVERSATION_UPDATED: ConversationOut,
    EventType.CONVERSATION_CLOSED: ConversationOut,
    EventType.CONVERSATION_DELETED: ConversationOut,
    EventType.CONVERSATION_MESSAGE_CREATED: MessageOut,
    EventType.CONVERSATION_MESSAGE_UPDATED: MessageOut,
    EventType.CONVERSATION_MESSAGE_DELETED: MessageOut,
    EventType.CONVERSATION_MESSAGE_RECEIVED: MessageOut,
    EventType.CONVERSATION_MESSAGE_SENT: MessageOut,
    EventType.CONVERSATION_PARTICIPANT_ADDED: ConversationOut,
    EventType.CONVERSATION_PARTICIPANT_REMOVED: ConversationOut,
    EventType.CONVERSATION_ACTIVITY_CREATED: ActivityOut,
    EventType.CONVERSATION_ASSIGNED: ConversationOut,
    EventType.TEAM_CREATED: TeamOut,
    EventType.TEAM_UPDATED: TeamOut,
    EventType.TEAM_DELETED: TeamOut,
    EventType.AGENT_AVAILABILITY_UPDATED: AgentOut,
    EventType.AGENT_UPDATED: AgentOut,
    EventType.TALK_CREATED: TalkOut,
    EventType.TALK_UPDATED: TalkOut,
    EventType.TALK_CLOSED: TalkOut,
    EventType.TALK_MESSAGE_CREATED: TalkMessageOut,
    EventType.TALK_MESSAGE_UPDATED: TalkMessageOut,
    EventType.TALK_MESSAGE_DELETED: TalkMessageOut,
    EventType.TALK_REACTION_ADDED: TalkMessageOut,
    EventType.TALK_REACTION_REMOVED: TalkMessageOut,
    EventType.TALK_PARTICIPANT_JOINED: TalkParticipantOut,
    EventType.TALK_PARTICIPANT_LEFT: TalkParticipantOut,
    EventType.WEBHOOK_TEST: WebhookTestOut,
    EventType.CONVERSATION_SNOOZED: ConversationOut,
    EventType.CONVERSATION_WOKE: ConversationOut,
    EventType.CONVERSATION_MERGED: ConversationOut,
    EventType.NOTIFICATION_CREATED: NotificationOut,
    EventType.NOTIFICATION_UPDATED: NotificationOut,
    EventType.CONVERSATION_MESSAGE_SCHEDULED: MessageOut,
    EventType.CONVERSATION_MESSAGE_CANCELED: MessageOut,
    EventType.CONVERSATION_NOTE_CREATED: ActivityOut,
    EventType.CANNED_RESPONSE_CREATED: CannedResponseOut,
    EventType.CANNED_RESPONSE_UPDATED: CannedResponseOut,
    EventType.CANNED_RESPONSE_DELETED: CannedResponseOut,
    EventType.CONTACT_CREATED: ContactOut,
    EventType.CONTACT_UPDATED: ContactOut,
    EventType.CONTACT_DELETED: ContactOut,
    EventType.CONTACT_MERGED: ContactOut,
    EventType.TAG_CREATED: TagOut,
    EventType.TAG_UPDATED: TagOut,
    EventType.TAG_DELETED: TagOut,
    EventType.CSAT_SURVEY_SENT: CsatSurveyOut,
    EventType.CSAT_RESPONSE_CREATED: CsatResponseOut,
    EventType.BUSINESS_HOURS_CREATED: BusinessHoursOut,
    EventType.BUSINESS_HOURS_UPDATED: BusinessHoursOut,
    EventType.BUSINESS_HOURS_DELETED: BusinessHoursOut,
    EventType.SLA_POLICY_CREATED: SlaPolicyOut,
    EventType.SLA_POLICY_UPDATED: SlaPolicyOut,
    EventType.SLA_POLICY_DELETED: SlaPolicyOut,
    EventType.CONVERSATION_SLA_WARNING: SlaClockOut,
    EventType.CONVERSATION_SLA_BREACHED: SlaClockOut,
    EventType.CONVERSATION_SLA_UPDATED: ConversationSlaOut,
    EventType.AUTOMATION_RULE_CREATED: AutomationRuleOut,
    EventType.AUTOMATION_RULE_UPDATED: AutomationRuleOut,
    EventType.AUTOMATION_RULE_DELETED: AutomationRuleOut,
    EventType.AUTOMATION_RULE_EXECUTED: AutomationRunOut,
    EventType.MACRO_CREATED: MacroOut,
    EventType.MACRO_UPDATED: MacroOut,
    EventType.MACRO_DELETED: MacroOut,
    EventType.MACRO_EXECUTED: AutomationRunOut,
}
"""The resource each event type carries as `data` (docs/EVENTS.md; the OpenAPI document's
`webhooks`), exactly as the API returns it."""
